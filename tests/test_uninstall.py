"""Safe uninstall: destroy order, nothing stuck on a finalizer, caches kept.

Pulumi deletes a resource only after everything that depends on it is gone,
so "A is deleted before B" holds exactly when B is reachable from A through
the registered dependencies. These tests walk that graph as evaluated from
the real program under mocks.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import CSR, ISVC, NAMESPACE, PVC, RELEASE, SECRET, STACKS, TOKEN, run_stack

MONITORING_KINDS = ("PodMonitor", "PrometheusRule", "ConfigMap")


def _graph(evaluation) -> dict[str, set[str]]:
    return {r.urn: set(r.dependencies) for r in evaluation.registrations}


def deleted_before(evaluation, first: str, then: str) -> bool:
    """True when Pulumi must delete `first` before `then` (then is reachable from first)."""
    graph = _graph(evaluation)
    seen, todo = set(), [first]
    while todo:
        urn = todo.pop()
        for dep in graph.get(urn, ()):
            if dep == then:
                return True
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return False


def _release(evaluation, name):
    return next(r for r in evaluation.of_type(RELEASE) if r.inputs["name"] == name)


def _namespace(evaluation, name):
    return next(r for r in evaluation.of_type(NAMESPACE) if r.inputs["metadata"]["name"] == name)


@pytest.fixture(scope="module")
def monitored():
    """Each committed stack with monitoring on, so monitors join the graph."""
    return {stack: run_stack(stack, hfToken=TOKEN, monitoring={"enabled": True}) for stack in STACKS}


@pytest.mark.parametrize("stack", STACKS)
def test_destroy_removes_models_then_runtime_then_controller_then_crds_then_cert_manager(monitored, stack):
    evaluation = monitored[stack]
    cert_manager = _release(evaluation, "cert-manager")
    crds = _release(evaluation, "kserve-crd")
    controller = _release(evaluation, "kserve-resources" if stack == "gaudi3" else "kserve")
    (runtime,) = evaluation.of_type(CSR)
    isvcs = evaluation.of_type(ISVC)
    assert len(isvcs) == 2
    for isvc in isvcs:
        for later in (runtime, controller, crds, cert_manager):
            assert deleted_before(evaluation, isvc.urn, later.urn), (isvc.urn, later.urn)
    for first, then in ((runtime, controller), (runtime, crds), (controller, crds), (controller, cert_manager),
                        (crds, cert_manager)):
        assert deleted_before(evaluation, first.urn, then.urn), (first.urn, then.urn)
    # And never the other way round (a cycle would deadlock the engine).
    for isvc in isvcs:
        assert not deleted_before(evaluation, controller.urn, isvc.urn)


@pytest.mark.parametrize("stack", STACKS)
def test_nothing_waits_on_a_finalizer_during_destroy(monitored, stack):
    evaluation = monitored[stack]
    controller = _release(evaluation, "kserve-resources" if stack == "gaudi3" else "kserve")
    models_ns = _namespace(evaluation, "intel-inference")
    kserve_ns = _namespace(evaluation, "kserve")
    for isvc in evaluation.of_type(ISVC):
        # inferenceservice.finalizers is cleared by the controller, which is still there.
        assert deleted_before(evaluation, isvc.urn, controller.urn)
        # kubernetes.io/pvc-protection: the claim goes after the pods that mount it.
        claim = next(r for r in evaluation.of_type(PVC) if r.parent == isvc.parent)
        assert deleted_before(evaluation, isvc.urn, claim.urn)
        # The namespace's own finalizer waits for its contents.
        assert deleted_before(evaluation, isvc.urn, models_ns.urn)
    for obj in evaluation.registrations:
        meta = obj.inputs.get("metadata") or {}
        if meta.get("namespace") == "intel-inference":
            assert deleted_before(evaluation, obj.urn, models_ns.urn), obj.urn
        if obj.inputs.get("kind") in MONITORING_KINDS:
            assert deleted_before(evaluation, obj.urn, models_ns.urn), obj.urn
    # The controller's namespace outlives the controller.
    assert deleted_before(evaluation, controller.urn, kserve_ns.urn)
    cert_manager = _release(evaluation, "cert-manager")
    assert deleted_before(evaluation, cert_manager.urn, _namespace(evaluation, "cert-manager").urn)


GUARD = "pulumi-python:dynamic:Resource"


def _guard(evaluation, name):
    return next(r for r in evaluation.of_type(GUARD) if r.inputs["namespace"] == name)


def _guarded_namespaces(evaluation) -> set[str]:
    """Every Namespace is retained by Pulumi and deleted, on destroy, by its NamespaceGuard when nothing is left in it
    (components/namespace_guard.py): the guard depends on it, so it goes after everything in the namespace."""
    urns = set()
    for ns in evaluation.of_type(NAMESPACE):
        name = ns.inputs["metadata"]["name"]
        guard = _guard(evaluation, name)
        assert ns.retain_on_delete and ns.urn in guard.dependencies, name
        assert guard.inputs["owner"] == ns.inputs["metadata"]["annotations"]["kserve-intel/owner"]
        urns.add(ns.urn)
    return urns


@pytest.mark.parametrize("stack", STACKS)
def test_model_caches_and_their_namespace_survive_destroy_by_default(committed, stack):
    evaluation = committed[stack]
    claims = evaluation.of_type(PVC)
    assert len(claims) == 2 and all(c.retain_on_delete for c in claims)
    # Deleting the namespace would delete the claims in it: its guard keeps it while they are there.
    models_ns = _namespace(evaluation, "intel-inference")
    for claim in claims:
        assert deleted_before(evaluation, claim.urn, _guard(evaluation, "intel-inference").urn)
    retained = {r.urn for r in evaluation.registrations if r.retain_on_delete}
    assert retained == {c.urn for c in claims} | _guarded_namespaces(evaluation)
    assert models_ns.urn in retained
    # Everything else really goes.
    for kind in (ISVC, CSR, RELEASE, SECRET):
        assert not any(r.retain_on_delete for r in evaluation.of_type(kind)), kind


def test_caches_are_deleted_when_the_user_asks():
    evaluation = run_stack("gaudi", hfToken=TOKEN, storage={"retainOnDestroy": False})
    assert {r.urn for r in evaluation.registrations if r.retain_on_delete} == _guarded_namespaces(evaluation)
    assert len(evaluation.of_type(PVC)) == 2


def test_without_claims_the_namespace_is_not_kept():
    evaluation = run_stack("xeon", storage={"enabled": False})
    assert evaluation.of_type(PVC) == []
    assert {r.urn for r in evaluation.registrations if r.retain_on_delete} == _guarded_namespaces(evaluation)


MODEL_A = {"id": "Qwen/Qwen2.5-7B-Instruct"}
MODEL_B = {"id": "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "name": "r1-qwen-32b", "tensorParallelSize": 2}


@pytest.mark.parametrize("monitoring", [False, True])
def test_removing_a_model_removes_exactly_that_models_objects(monitoring):
    extra = {"monitoring": {"enabled": True}} if monitoring else {}
    both = run_stack("gaudi", hfToken=TOKEN, models=[MODEL_A, MODEL_B], **extra)
    one = run_stack("gaudi", hfToken=TOKEN, models=[MODEL_A], **extra)
    before, after = both.by_urn(), one.by_urn()
    assert set(after) <= set(before)
    removed = set(before) - set(after)
    (component,) = [u for u in removed if before[u].type == "kserve-intel:index:ModelDeployment"]
    assert component.endswith("::r1-qwen-32b")
    assert removed == {component} | {u for u in removed if before[u].parent == component}
    assert sorted(before[u].type for u in removed) == sorted(["kserve-intel:index:ModelDeployment", PVC, ISVC])
    # What stays is registered exactly as before: `pulumi up` changes nothing else.
    for urn, registration in after.items():
        assert json.dumps(registration.inputs, sort_keys=True) == json.dumps(before[urn].inputs, sort_keys=True), urn
        if registration.custom:
            # Components' own edges may change (TrafficRoutes waits for every model);
            # no Kubernetes object gains or loses one.
            assert sorted(registration.dependencies) == sorted(before[urn].dependencies), urn
    # The removed model's cache is forgotten, not deleted.
    (claim,) = [before[u] for u in removed if before[u].type == PVC]
    assert claim.retain_on_delete
    assert one.outputs["models"] == [m for m in both.outputs["models"] if m["name"] != "r1-qwen-32b"]


def test_replacing_a_models_weights_keeps_its_cache_claim():
    # Same name, another checkpoint: the InferenceService changes, the claim does not.
    first = run_stack("xeon", models=[{"id": "Qwen/Qwen3-4B-Instruct-2507", "name": "chat", "gated": False}])
    second = run_stack("xeon", models=[{"id": "Qwen/Qwen2.5-7B-Instruct", "name": "chat", "gated": False}])
    (claim_1,), (claim_2,) = first.of_type(PVC), second.of_type(PVC)
    assert (claim_1.urn, claim_1.inputs) == (claim_2.urn, claim_2.inputs)
    (isvc_1,), (isvc_2,) = first.of_type(ISVC), second.of_type(ISVC)
    assert isvc_1.urn == isvc_2.urn and isvc_1.inputs != isvc_2.inputs
