"""Layer 3: the committed stack files through __main__.py under Pulumi's mocks."""

from __future__ import annotations

import json

import pytest
from pulumi import RunError

from offline.engine import evaluate, is_secret, stack_config
from tests.conftest import CSR, ISVC, NAMESPACE, PVC, RELEASE, SECRET, STACKS, TOKEN, run_stack



def _releases(evaluation):
    return {r.inputs["name"]: r for r in evaluation.of_type(RELEASE)}


@pytest.mark.parametrize("stack", STACKS)
def test_every_kubernetes_object_has_a_component_parent(committed, stack):
    evaluation = committed[stack]
    components = {r.urn for r in evaluation.registrations if r.type.startswith("kserve-intel:index:")}
    assert {r.type for r in evaluation.registrations if r.type.startswith("kserve-intel:")} >= {
        "kserve-intel:index:KServeOperator", "kserve-intel:index:IntelRuntimes",
        "kserve-intel:index:ModelNamespace", "kserve-intel:index:ModelDeployment",
    }
    for registration in evaluation.registrations:
        if registration.type.startswith("kubernetes:"):
            assert registration.parent in components, registration.urn


@pytest.mark.parametrize("stack", STACKS)
def test_install_order_is_cert_manager_crds_controller_runtime_models(committed, stack):
    evaluation = committed[stack]
    releases = _releases(evaluation)
    cert_manager, crds = releases["cert-manager"], releases["kserve-crd"]
    controller = releases["kserve" if stack != "gaudi3" else "kserve-resources"]
    assert cert_manager.urn in crds.dependencies
    assert {crds.urn, cert_manager.urn} <= set(controller.dependencies)
    (runtime,) = evaluation.of_type(CSR)
    assert controller.urn in runtime.dependencies
    for isvc in evaluation.of_type(ISVC):
        # Explicit edges: destroy removes every InferenceService while the
        # controller still runs to clear its finalizer, and the runtime after it.
        assert controller.urn in isvc.dependencies
        assert runtime.urn in isvc.dependencies
        claim = next(r for r in evaluation.of_type(PVC) if r.parent == isvc.parent)
        assert claim.urn in isvc.dependencies


@pytest.mark.parametrize("stack", STACKS)
def test_models_do_not_depend_on_each_other(committed, stack):
    evaluation = committed[stack]
    isvcs = evaluation.of_type(ISVC)
    model_resources = {r.urn for r in evaluation.registrations if r.type in (ISVC, PVC)}
    for isvc in isvcs:
        own = {r.urn for r in evaluation.registrations if r.parent == isvc.parent}
        assert not (set(isvc.dependencies) & (model_resources - own)), isvc.urn


def test_helm_releases_pin_charts_and_values_per_version(committed):
    v013 = _releases(committed["xeon"])
    assert v013["kserve-crd"].inputs["chart"] == "oci://ghcr.io/kserve/charts/kserve-crd"
    assert v013["kserve-crd"].inputs["version"] == "v0.13.0"
    controller = v013["kserve"].inputs
    assert controller["chart"] == "oci://ghcr.io/kserve/charts/kserve"
    assert controller["values"]["kserve"]["controller"]["deploymentMode"] == "RawDeployment"
    assert controller["values"]["kserve"]["modelmesh"] == {"enabled": False}
    assert v013["cert-manager"].inputs["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
    assert v013["cert-manager"].inputs["values"] == {"crds": {"enabled": True}}
    assert v013["cert-manager"].inputs["namespace"] == "cert-manager"

    v020 = _releases(committed["gaudi3"])
    controller = v020["kserve-resources"].inputs
    assert controller["chart"] == "oci://ghcr.io/kserve/charts/kserve-resources"
    assert controller["version"] == "v0.20.0"
    assert controller["values"]["kserve"]["controller"]["deploymentMode"] == "Standard"
    assert "modelmesh" not in controller["values"]["kserve"]
    assert v020["cert-manager"].inputs["version"] == "v1.17.0"


def test_token_reaches_the_pod_only_through_a_secret(committed):
    evaluation = committed["gaudi"]
    (secret,) = evaluation.of_type(SECRET)
    assert is_secret(secret.inputs["stringData"])
    assert secret.inputs["stringData"]["value"] == {"HF_TOKEN": TOKEN}
    for isvc in evaluation.of_type(ISVC):
        env = isvc.inputs["spec"]["predictor"]["model"]["env"]
        token_env = [e for e in env if e["name"] == "HF_TOKEN"]
        assert token_env == [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}}]
    # Nowhere else: not in any other input, nor in the outputs.
    for registration in evaluation.registrations:
        if registration is not secret:
            assert TOKEN not in json.dumps(registration.inputs), registration.urn
    assert TOKEN not in json.dumps(evaluation.outputs)


def test_no_secret_and_no_token_env_without_a_token():
    evaluation = run_stack("xeon")
    assert evaluation.of_type(SECRET) == []
    for isvc in evaluation.of_type(ISVC):
        names = [e["name"] for e in isvc.inputs["spec"]["predictor"]["model"].get("env", [])]
        assert "HF_TOKEN" not in names


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_tell_the_user_where_each_model_is(committed, stack):
    outputs = committed[stack].outputs
    assert outputs["platform"] == stack
    assert outputs["kserveVersion"] == ("v0.20.0" if stack == "gaudi3" else "v0.13.0")
    assert outputs["deploymentMode"] == ("Standard" if stack == "gaudi3" else "RawDeployment")
    isvc_names = {r.inputs["metadata"]["name"] for r in committed[stack].of_type(ISVC)}
    assert {m["name"] for m in outputs["models"]} == isvc_names
    for model in outputs["models"]:
        assert set(model) == {"id", "name", "servedModelName", "namespace", "externalUrl", "inClusterUrl", "openaiBaseUrl",
                              "runtime", "servingStack"}
        # Every committed stack runs one serving stack: the platform's runtime name, the new default stack.
        assert model["runtime"] == outputs["runtime"] == f"intel-vllm-{stack}"
        assert model["servingStack"] == ("vllm-0.33" if stack == "xeon" else "vllm-gaudi-0.26")
    (runtime,) = outputs["runtimes"]
    assert runtime["name"] == outputs["runtime"] and set(runtime["models"]) == isvc_names
    for model in outputs["models"]:
        assert model["inClusterUrl"] == f"http://{model['name']}-predictor.intel-inference.svc.cluster.local"
        assert model["openaiBaseUrl"] == model["inClusterUrl"] + "/v1"
        assert model["externalUrl"] == f"http://{model['name']}-intel-inference.example.com"


def test_isvc_waits_for_readiness_long_enough_for_a_large_model(committed):
    for isvc in committed["gaudi3"].of_type(ISVC):
        annotations = isvc.inputs["metadata"]["annotations"]
        assert annotations["pulumi.com/waitFor"] == "condition=Ready"
        assert int(annotations["pulumi.com/timeoutSeconds"]) >= 3600
        assert isvc.custom_timeouts["create"] == f"{int(annotations['pulumi.com/timeoutSeconds']) // 60}m"


def test_ready_and_delete_timeouts_are_configurable_per_model_and_stack():
    evaluation = run_stack("xeon", readyTimeoutMinutes=7, deleteTimeoutMinutes=3, models=[
        {"id": "Qwen/Qwen2.5-7B-Instruct", "name": "slow", "readyTimeoutMinutes": 2},
        {"id": "Qwen/Qwen2.5-7B-Instruct", "name": "fast", "servedModelName": "fast"}])
    by_name = {r.inputs["metadata"]["name"]: r for r in evaluation.of_type(ISVC)}
    assert by_name["slow"].inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == "120"
    assert by_name["slow"].custom_timeouts == {"create": "2m", "update": "2m", "delete": "3m"}
    assert by_name["fast"].inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == "420"
    assert by_name["fast"].custom_timeouts == {"create": "7m", "update": "7m", "delete": "3m"}
    # One error hook per model explains a failure of its InferenceService (which model, what to run).
    assert by_name["slow"].error_hooks == ["kserve-intel-explain-slow"]
    assert by_name["fast"].error_hooks == ["kserve-intel-explain-fast"]


def test_default_timeouts_are_the_platform_window_and_twenty_minutes(committed):
    for isvc in committed["xeon"].of_type(ISVC):
        assert isvc.custom_timeouts == {"create": "90m", "update": "90m", "delete": "20m"}


@pytest.mark.parametrize("overrides,fragment", [
    ({"models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "tensorParallelSize": 9}]}, "kserve-intel:models[0].tensorParallelSize = 9"),
    ({"storage": {"size": "100GB"}}, 'kserve-intel:storage.size = "100GB"'),
    ({"models": ["meta-llama/Llama-3.1-8B-Instruct"]}, "kserve-intel:hfToken: is required"),
])
def test_bad_config_registers_nothing(overrides, fragment):
    encoded = {k: json.dumps(v) for k, v in overrides.items()}
    config, secret_keys = stack_config("gaudi", encoded)
    evaluation = evaluate(config, secret_keys, stack="gaudi", raise_errors=False)
    assert isinstance(evaluation.error, RunError)
    assert fragment in str(evaluation.error)
    assert evaluation.registrations == []


def test_bad_config_message_is_the_only_output(monkeypatch):
    # A RunError is printed by Pulumi without a traceback: the message is all the user sees.
    with pytest.raises(RunError) as caught:
        run_stack("xeon", platform="itanium")
    assert str(caught.value).count("\n") == 1


def test_existing_kserve_installs_nothing_but_still_orders_models():
    evaluation = run_stack("xeon", kserve={"install": False, "version": "v0.15.2"})
    assert evaluation.of_type(RELEASE) == []
    assert [r.inputs["metadata"]["name"] for r in evaluation.of_type(NAMESPACE)] == ["intel-inference"]
    (runtime,) = evaluation.of_type(CSR)
    for isvc in evaluation.of_type(ISVC):
        assert runtime.urn in isvc.dependencies


def test_existing_cert_manager_is_not_installed():
    evaluation = run_stack("xeon", kserve={"certManager": "existing"})
    assert "cert-manager" not in _releases(evaluation)
    assert "cert-manager" not in [r.inputs["metadata"]["name"] for r in evaluation.of_type(NAMESPACE)]


def test_runtimes_managed_elsewhere_are_referenced_not_created():
    evaluation = run_stack("gaudi", runtimes={"configureIntel": False})
    assert evaluation.of_type(CSR) == []
    for isvc in evaluation.of_type(ISVC):
        assert isvc.inputs["spec"]["predictor"]["model"]["runtime"] == "intel-vllm-gaudi"


def test_storage_disabled_uses_an_empty_dir_of_the_configured_size():
    evaluation = run_stack("xeon", storage={"enabled": False, "size": "50Gi"})
    assert evaluation.of_type(PVC) == []
    for isvc in evaluation.of_type(ISVC):
        assert isvc.inputs["spec"]["predictor"]["volumes"] == [{"name": "model-cache", "emptyDir": {"sizeLimit": "50Gi"}}]


def test_storage_class_and_size_reach_the_claim():
    evaluation = run_stack("xeon", storage={"size": "300Gi", "storageClass": "fast-ssd", "accessMode": "ReadWriteMany"})
    for claim in evaluation.of_type(PVC):
        spec = claim.inputs["spec"]
        assert spec == {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "300Gi"}}, "storageClassName": "fast-ssd"}
        # The claim is not awaited (it binds when a pod mounts it); every object carries the stack's owner stamp.
        assert claim.inputs["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true",
                                                           "kserve-intel/owner": "kserve-intel/xeon"}


def test_warnings_reach_the_pulumi_log(committed):
    assert any("ReadWriteOnce" in w for w in committed["gaudi"].warnings)


def test_models_on_two_serving_stacks_get_two_runtimes_and_their_outputs():
    models = [{"id": "Qwen/Qwen3-4B-Instruct-2507"},
              {"id": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "servingStack": "vllm-0.10"}]
    evaluation = run_stack("xeon", **{"kserve-intel:models": models})
    runtimes = {r.inputs["metadata"]["name"]: r for r in evaluation.of_type(CSR)}
    assert set(runtimes) == {"intel-vllm-xeon", "intel-xeon-vllm-0-10"}
    by_runtime = {r.inputs["spec"]["predictor"]["model"]["runtime"]: r for r in evaluation.of_type(ISVC)}
    assert set(by_runtime) == set(runtimes)
    for name, isvc in by_runtime.items():
        # Each InferenceService waits for the runtime it names (explicit edge, as for one runtime).
        assert runtimes[name].urn in isvc.dependencies
        assert runtimes[name].inputs["metadata"]["labels"]["kserve-intel/serving-stack"] == (
            "vllm-0.33" if name == "intel-vllm-xeon" else "vllm-0.10")
    outputs = evaluation.outputs
    assert [(r["name"], r["servingStack"], len(r["models"])) for r in outputs["runtimes"]] == [
        ("intel-vllm-xeon", "vllm-0.33", 1), ("intel-xeon-vllm-0-10", "vllm-0.10", 1)]
    assert {m["servingStack"] for m in outputs["models"]} == {"vllm-0.33", "vllm-0.10"}
