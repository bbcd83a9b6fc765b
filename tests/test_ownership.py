"""Ownership: the inventory the look asks about is what the program registers; `auto` and the refusals decide
as docs/shared-clusters.md says (pure rules on findings; the cluster side is tests/test_online_cluster.py and
tests/e2e/test_ownership.py)."""

from __future__ import annotations

import json

import pytest

from kserve_intel.builders.ownership import inventory, stamp
from kserve_intel.load import load_config
from kserve_intel.online.cluster import ABSENT, FOREIGN, OURS, UNKNOWN, Finding, HelmReleaseKey, Installation, \
    ObjectKey
from kserve_intel.plan import build_plan
from kserve_intel.rules import ownership as rules
from offline.engine import stack_config
from tests.conftest import RELEASE, STACKS, TOKEN, run_stack
from tests.test_combinations import CASES

OWNER = "organization/kserve-intel/platform"
GUARD = "pulumi-python:dynamic:Resource"


def _plan(stack: str, **overrides):
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in overrides.items()}
    config, secret_keys = stack_config(stack, encoded)
    return build_plan(load_config(config, secret_keys), stack=stack)


CONFIGS = {**{s: (s, {}) for s in STACKS}, **CASES}


@pytest.mark.parametrize("case", CONFIGS)
def test_the_inventory_is_exactly_what_the_program_registers(case):
    """The look asks about every object the components register, so it cannot miss one added later."""
    stack, overrides = CONFIGS[case]
    evaluation = run_stack(stack, hfToken=TOKEN, **overrides)
    registered = {ObjectKey(o["apiVersion"], o["kind"], o["metadata"]["name"], o["metadata"].get("namespace"))
                  for o in evaluation.objects()}
    registered |= {HelmReleaseKey(r.inputs["name"], r.inputs["namespace"]) for r in evaluation.of_type(RELEASE)}
    assert set(inventory(_plan(stack, hfToken=TOKEN, **overrides)).keys()) == registered


def test_every_object_and_release_carries_the_owner_stamp():
    evaluation = run_stack("gaudi3", hfToken=TOKEN, monitoring={"enabled": True})
    for obj in evaluation.objects():
        assert obj["metadata"]["annotations"]["kserve-intel/owner"] == "kserve-intel/gaudi3", obj["metadata"]["name"]
    for release in evaluation.of_type(RELEASE):
        assert release.inputs["description"] == "kserve-intel/owner=kserve-intel/gaudi3"
    # Each namespace has its guard, which names the owner it checks at destroy.
    guards = {r.inputs["namespace"]: r for r in evaluation.of_type(GUARD)}
    assert set(guards) == {"cert-manager", "kserve", "intel-inference"}
    assert all(g.inputs["owner"] == "kserve-intel/gaudi3" for g in guards.values())


def test_stamp_copies_and_marks_adopted_objects():
    manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
    stamped = stamp(manifest, OWNER, adopted=True)
    assert manifest == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}
    assert stamped["metadata"]["annotations"] == {"kserve-intel/owner": OWNER, "kserve-intel/adopted": "true"}
    assert stamp(manifest, "") is manifest


def test_an_application_stack_needs_the_runtimes_its_models_name():
    plan = _plan("gaudi", hfToken=TOKEN, runtimes={"configureIntel": False})
    stock = inventory(plan)
    assert not [o for o in stock.owned if o.concern == rules.RUNTIMES]
    assert [(n.key.name, n.used_by) for n in stock.needed] == [
        ("intel-vllm-gaudi", ("models[0] (qwen2-5-7b-instruct)", "models[1] (r1-qwen-32b)"))]


# --- `auto` ---------------------------------------------------------------------------------------------


def _config(**values):
    raw = {f"kserve-intel:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in {"platform": "gaudi", **values}.items()}
    return load_config(raw)


KSERVE_FOUND = Installation(True, "v0.20.0", "kserve", evidence=(
    "CRD inferenceservices.serving.kserve.io", "Deployment kserve/kserve-controller-manager",
    "ConfigMap kserve/inferenceservice-config"))
CM_FOUND = Installation(True, "v1.16.1", "cert-manager", evidence=("CRD certificates.cert-manager.io",
                                                                   "Deployment cert-manager/cert-manager"))
CM_CRDS_ONLY = Installation(True, evidence=("CRD certificates.cert-manager.io",),
                            missing=("cert-manager controller Deployment", "cert-manager webhook Deployment"))
ABSENT_RELEASE = {c: Finding(HelmReleaseKey(c, c), ABSENT) for c in (rules.KSERVE, rules.CERT_MANAGER)}


def _resolve(config, found, own=ABSENT_RELEASE, tag="v0.20.0", adopt_retained=False):
    return rules.resolve_installs(config, rules.default_installs(config), tag, found, own, adopt_retained)


def test_auto_installs_on_an_empty_cluster_and_uses_what_is_there():
    config = _config(kserve={"version": "v0.20.0"})
    empty = _resolve(config, {rules.KSERVE: Installation(False), rules.CERT_MANAGER: Installation(False)})
    assert (empty.installs.kserve, empty.installs.cert_manager, empty.refusals) == (True, True, ())
    assert "kserve.install: auto -> install (no KServe on the cluster)" in empty.notes
    cm_only = _resolve(config, {rules.KSERVE: Installation(False), rules.CERT_MANAGER: CM_FOUND})
    assert (cm_only.installs.kserve, cm_only.installs.cert_manager) == (True, False)
    assert any(n.startswith("kserve.certManager: auto -> use the cluster's cert-manager v1.16.1") for n in cm_only.notes)
    both = _resolve(config, {rules.KSERVE: KSERVE_FOUND, rules.CERT_MANAGER: CM_FOUND})
    assert (both.installs.kserve, both.installs.cert_manager, both.refusals) == (False, False, ())


def test_auto_keeps_installing_what_this_stack_installed():
    config = _config(kserve={"version": "v0.20.0"})
    own = {**ABSENT_RELEASE, rules.KSERVE: Finding(HelmReleaseKey("kserve-resources", "kserve"), OURS)}
    result = _resolve(config, {rules.KSERVE: KSERVE_FOUND, rules.CERT_MANAGER: CM_FOUND}, own)
    assert result.installs.kserve
    assert "kserve.install: auto -> install (Helm release kserve/kserve-resources is this stack's)" in result.notes


def test_a_partial_cert_manager_is_refused_with_what_is_missing():
    config = _config(kserve={"version": "v0.20.0"})
    result = _resolve(config, {rules.KSERVE: Installation(False), rules.CERT_MANAGER: CM_CRDS_ONLY})
    (refusal,) = result.refusals
    assert "kserve.certManager = auto: cert-manager is only partly on the cluster" in refusal
    assert "missing cert-manager controller Deployment" in refusal and "kserve-intel:kserve.certManager existing" in refusal


def test_the_cluster_kserve_version_must_be_the_configured_one():
    config = _config(kserve={"version": "v0.19.0"})
    result = _resolve(config, {rules.KSERVE: KSERVE_FOUND, rules.CERT_MANAGER: CM_FOUND}, tag="v0.19.0")
    (refusal,) = result.refusals
    assert "the cluster runs KServe v0.20.0" in refusal and "Set kserve-intel:kserve.version v0.20.0" in refusal
    # A controller outside the cluster (the local cluster's) shows no version: used, with a warning.
    unseen = Installation(True, None, "kserve", evidence=("CRD inferenceservices.serving.kserve.io",
                                                          "ConfigMap kserve/inferenceservice-config"),
                          missing=("kserve-controller-manager Deployment",))
    result = _resolve(config, {rules.KSERVE: unseen}, tag="v0.19.0")
    assert not result.installs.kserve and not result.refusals
    assert "without seeing its version" in result.warnings[0]


def test_keda_and_knative_auto():
    keda = _config(kserve={"version": "v0.20.0", "install": False}, models=["Qwen/Qwen2.5-7B-Instruct"],
                   autoscaling={"enabled": True, "engine": "keda", "maxReplicas": 2})
    assert rules.auto_concerns(keda) == (rules.KEDA,)
    found = {rules.KSERVE: KSERVE_FOUND, rules.KEDA: Installation(True, "2.18.0", "keda", evidence=("CRD",))}
    assert not _resolve(keda, found, {}).installs.keda
    crds_only = {rules.KSERVE: KSERVE_FOUND, rules.KEDA: Installation(True, evidence=("CRD scaledobjects.keda.sh",),
                                                                       missing=("keda-operator Deployment",))}
    assert "autoscaling.keda.install = auto: KEDA is only partly on the cluster" in _resolve(keda, crds_only, {}).refusals[0]
    ours = {rules.KEDA: Finding(HelmReleaseKey("keda", "keda"), OURS)}
    assert _resolve(keda, crds_only, ours).installs.keda
    knative = _config(kserve={"version": "v0.20.0", "install": False, "deploymentMode": "Knative"})
    assert rules.auto_concerns(knative) == (rules.KNATIVE,)
    assert _resolve(knative, {rules.KSERVE: KSERVE_FOUND, rules.KNATIVE: Installation(False)}, {}).installs.knative


def test_kserve_install_false_on_a_cluster_without_kserve_is_refused():
    config = _config(kserve={"install": False})
    result = rules.resolve_installs(config, rules.default_installs(config), "v0.13.0",
                                    {rules.KSERVE: Installation(False)}, {})
    assert "the cluster has no KServe" in result.refusals[0]


def test_an_unstamped_kserve_intel_release_needs_adopt_retained():
    config = _config(kserve={"version": "v0.20.0"})
    own = {**ABSENT_RELEASE, rules.KSERVE: Finding(HelmReleaseKey("kserve-resources", "kserve"), FOREIGN,
                                                     unstamped_kserve_intel=True)}
    found = {rules.KSERVE: KSERVE_FOUND, rules.CERT_MANAGER: CM_FOUND}
    assert "make up ADOPT=1" in _resolve(config, found, own).refusals[0]
    assert _resolve(config, found, own, adopt_retained=True).installs.kserve


# --- decide -------------------------------------------------------------------------------------------

NS_CM = ObjectKey("v1", "Namespace", "cert-manager")
NS_MODELS = ObjectKey("v1", "Namespace", "intel-inference")
CSR_KEY = ObjectKey("serving.kserve.io/v1alpha1", "ClusterServingRuntime", "intel-vllm-gaudi")
OWNED = [rules.Owned(NS_CM, rules.CERT_MANAGER), rules.Owned(NS_MODELS, rules.MODELS),
         rules.Owned(CSR_KEY, rules.RUNTIMES), rules.Owned(HelmReleaseKey("cert-manager", "cert-manager"),
                                                           rules.CERT_MANAGER)]


def _findings(**states):
    by = {"cm": NS_CM, "models": NS_MODELS, "csr": CSR_KEY}
    out = {k: Finding(k, ABSENT) for k in (o.key for o in OWNED)}
    out.update({by[name]: finding for name, finding in states.items()})
    return out


def test_foreign_objects_are_refused_naming_who_manages_them_and_the_config_that_fits():
    findings = _findings(cm=Finding(NS_CM, FOREIGN, managers=("field managers: kubectl-create",)),
                         csr=Finding(CSR_KEY, FOREIGN, managers=("kserve-intel stack organization/kserve-intel/apps",)))
    decision = rules.decide(OWNED, findings, [], {}, [])
    assert decision.refusals == (
        "Namespace cert-manager: field managers: kubectl-create\n"
        "      -> the cluster has cert-manager: set kserve-intel:kserve.certManager existing (or auto)",
        "ClusterServingRuntime intel-vllm-gaudi: kserve-intel stack organization/kserve-intel/apps\n"
        "      -> another stack or team provides the runtimes: set kserve-intel:runtimes.configureIntel false",
    )
    message = rules.refusal_message(OWNER, decision.refusals)
    assert message.startswith("kserve-intel will not touch what this stack (organization/kserve-intel/platform) does "
                              "not own; nothing was registered (2 problems):")
    assert decision.created_namespaces == {"intel-inference"}


def test_adopt_takes_over_a_named_object_and_refuses_names_that_are_not_the_stacks():
    findings = _findings(models=Finding(NS_MODELS, FOREIGN, managers=("field managers: kubectl-create",)))
    decision = rules.decide(OWNED, findings, [], {}, ["Namespace/intel-inference"])
    assert decision.refusals == () and decision.adopted == {"Namespace/intel-inference"}
    assert decision.notes == ("adopting Namespace intel-inference (adopt): it is stamped as this stack's and kept by "
                              "destroy",)
    wrong = rules.decide(OWNED, findings, [], {}, ["Namespace/kube-system", "HelmRelease/cert-manager/cert-manager"])
    assert "adopt[0] = Namespace/kube-system: not an object this stack creates" in wrong.refusals[0]
    assert "Helm cannot take over a release" in wrong.refusals[1]


def test_unknown_is_refused_by_up_and_a_warning_in_preview():
    findings = _findings(csr=Finding(CSR_KEY, UNKNOWN, detail="forbidden: the stack's credentials may not read it"))
    assert rules.decide(OWNED, findings, [], {}, [], preview=True).warnings
    assert "grant the stack's credentials `get`" in rules.decide(OWNED, findings, [], {}, []).refusals[0]


def test_an_application_stack_is_refused_when_its_runtime_is_missing():
    needed = [rules.Needed(CSR_KEY, ("models[0] (qwen)",))]
    absent = rules.decide([], {}, needed, {CSR_KEY: Finding(CSR_KEY, ABSENT)}, [])
    assert absent.refusals == (
        "ClusterServingRuntime intel-vllm-gaudi is not on the cluster and models[0] (qwen) run on it: "
        "runtimes.configureIntel is false, so another stack must create it (its runtimes.configureIntel true, same "
        "platform and serving stack), or set kserve-intel:runtimes.configureIntel true here",)
    there = rules.decide([], {}, needed, {CSR_KEY: Finding(CSR_KEY, FOREIGN, managers=("kserve-intel stack p",))}, [])
    assert there.notes == ("models[0] (qwen) use ClusterServingRuntime intel-vllm-gaudi of kserve-intel stack p",)


def test_adopt_retained_takes_back_unstamped_kserve_intel_objects_only():
    unstamped = Finding(NS_MODELS, FOREIGN, managers=("kserve-intel without an owner stamp",),
                        unstamped_kserve_intel=True)
    findings = _findings(models=unstamped)
    assert "run `make up ADOPT=1` once" in rules.decide(OWNED, findings, [], {}, []).refusals[0]
    decision = rules.decide(OWNED, findings, [], {}, [], adopt_retained=True)
    assert decision.refusals == () and decision.adopted == frozenset()
    foreign = _findings(models=Finding(NS_MODELS, FOREIGN, managers=("field managers: kubectl-create",)))
    assert rules.decide(OWNED, foreign, [], {}, [], adopt_retained=True).refusals
