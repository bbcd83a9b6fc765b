"""The CrossGuard policy pack in policy/: each policy with passing and failing
resources, called the way the Pulumi engine calls it, and our own stacks
through every policy."""

from __future__ import annotations

import ast
import contextvars
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs
from pulumi_policy.proxy import unknown_checking_proxy

from offline.engine import SECRET_SIG, SECRET_SIG_KEY
from policy import kserve_intel_policies as kip
from tests.conftest import ROOT, STACKS

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CRONJOB = "kubernetes:batch/v1:CronJob"
POD = "kubernetes:core/v1:Pod"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
RELEASE = "kubernetes:helm.sh/v3:Release"

POLICY = {p.name: p for p in kip.POLICIES}


def violations(policy: str, resource_type: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> list[str]:
    """Run one policy on one resource as the analyzer does (props behind the engine's proxy)."""
    args = ResourceValidationArgs(
        resource_type=resource_type,
        props=unknown_checking_proxy(copy.deepcopy(props)),
        urn=f"urn:pulumi:test::kserve-intel::{resource_type}::subject",
        name="subject",
        opts=PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), []),
        provider=None,
        config=config,
    )
    found: list[str] = []
    assert POLICY[policy].validate(args, lambda message, urn=None: found.append(message)) is None
    return found


def container(**overrides: Any) -> dict[str, Any]:
    base = {
        "name": "server",
        "image": "opea/vllm-gaudi:1.22.0",
        "args": ["--model", "Qwen/Qwen2.5-7B-Instruct", "--port", "8080"],
        "env": [{"name": "HF_HOME", "value": "/data"},
                {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}}],
        "resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"cpu": "8", "memory": "32Gi"}},
        "securityContext": {"privileged": False, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    }
    base.update(overrides)
    return base


def deployment(pod: dict[str, Any] | None = None, **container_overrides: Any) -> dict[str, Any]:
    spec = {"containers": [container(**container_overrides)], **(pod or {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec}}}


def isvc(annotations: dict[str, str] | None = None, predictor: dict[str, Any] | None = None, **model: Any) -> dict[str, Any]:
    model_spec = {
        "modelFormat": {"name": "vllm-intel-xeon"},
        "runtime": "intel-vllm-xeon",
        "args": ["--model", "Qwen/Qwen3-4B-Instruct-2507"],
        "resources": {"requests": {"cpu": "32", "memory": "128Gi"}, "limits": {"cpu": "32", "memory": "128Gi"}},
    }
    model_spec.update(model)
    meta_annotations = {"pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "5400"}
    if annotations is not None:
        meta_annotations = annotations
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "qwen", "namespace": "llm", "annotations": meta_annotations},
            "spec": {"predictor": {"model": model_spec, **(predictor or {})}}}


# ------------------------------------------------------ gaudi-only-on-gaudi-stacks

GAUDI_MODEL = {
    "resources": {"requests": {"cpu": "10", "memory": "96Gi", "habana.ai/gaudi": "1"},
                  "limits": {"cpu": "20", "memory": "120Gi", "habana.ai/gaudi": "1"}},
}


def test_gaudi_devices_pass_on_gaudi_stacks():
    props = isvc(predictor={"runtimeClassName": "habana"}, **GAUDI_MODEL)
    for platform in ("gaudi", "gaudi3"):
        assert violations("gaudi-only-on-gaudi-stacks", ISVC, props, {"platform": platform}) == []


@pytest.mark.parametrize("resource_type, props, fragment", [
    (ISVC, isvc(**GAUDI_MODEL), "spec.predictor.model.resources.requests: habana.ai/gaudi (Gaudi device)"),
    (ISVC, isvc(predictor={"runtimeClassName": "habana"}), "spec.predictor.runtimeClassName: 'habana'"),
    (CSR, {"spec": {"containers": [container(securityContext={"capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK", "SYS_NICE"]}})]}},
     "spec.containers[0].securityContext.capabilities.add: IPC_LOCK, SYS_NICE (Gaudi capabilities)"),
    (DEPLOYMENT, deployment(env=[{"name": "HABANA_VISIBLE_DEVICES", "value": "all"}]),
     "spec.template.spec.containers[0].env: HABANA_VISIBLE_DEVICES"),
    (RELEASE, {"name": "x", "values": {"resources": {"limits": {"habana.ai/gaudi": 8}}}},
     "values.resources.limits.habana.ai/gaudi: Gaudi device"),
])
def test_gaudi_features_are_refused_on_a_xeon_stack(resource_type, props, fragment):
    found = violations("gaudi-only-on-gaudi-stacks", resource_type, props, {"platform": "xeon"})
    assert any(fragment in message for message in found), found
    assert all("this is a xeon stack" in message for message in found)


def _numa_runtime(stack, caps):
    return {"metadata": {"labels": {"kserve-intel/serving-stack": stack}},
            "spec": {"containers": [container(securityContext={"capabilities": {"drop": ["ALL"], "add": caps}})]}}


def test_sys_nice_passes_on_xeon_only_for_a_numa_binding_stacks_runtime():
    assert violations("gaudi-only-on-gaudi-stacks", CSR, _numa_runtime("vllm-0.33", ["SYS_NICE"]), {"platform": "xeon"}) == []


@pytest.mark.parametrize("resource_type, props, fragment", [
    # the exception does not leak: another stack, another capability, another kind of object
    (CSR, _numa_runtime("vllm-0.10", ["SYS_NICE"]), "capabilities.add: SYS_NICE (Gaudi capabilities)"),
    (CSR, {"spec": _numa_runtime("vllm-0.33", ["SYS_NICE"])["spec"]}, "capabilities.add: SYS_NICE (Gaudi capabilities)"),
    (CSR, _numa_runtime("vllm-0.33", ["SYS_NICE", "IPC_LOCK"]), "capabilities.add: IPC_LOCK (Gaudi capabilities)"),
    (DEPLOYMENT, {**deployment(securityContext={"capabilities": {"add": ["SYS_NICE"]}}),
                  "metadata": {"labels": {"kserve-intel/serving-stack": "vllm-0.33"}}}, "SYS_NICE (Gaudi capabilities)"),
])
def test_sys_nice_exception_does_not_leak(resource_type, props, fragment):
    found = violations("gaudi-only-on-gaudi-stacks", resource_type, props, {"platform": "xeon"})
    assert any(fragment in message for message in found), found


def test_gaudi_features_with_an_unknown_platform_ask_for_it():
    (message, *_) = violations("gaudi-only-on-gaudi-stacks", ISVC, isvc(**GAUDI_MODEL))
    assert "the stack's platform is unknown" in message


def test_xeon_objects_pass_without_knowing_the_platform():
    assert violations("gaudi-only-on-gaudi-stacks", ISVC, isvc()) == []
    assert violations("gaudi-only-on-gaudi-stacks", DEPLOYMENT, deployment()) == []


def test_platform_comes_from_the_stack_config_unless_the_policy_config_says():
    import pulumi

    def read(policy_config):
        pulumi.runtime.set_all_config({"kserve-intel:platform": "gaudi3"})
        return kip.stack_platform(policy_config)

    # Fresh contexts: Pulumi keeps its config in context variables.
    assert contextvars.Context().run(read, {}) == "gaudi3"
    assert contextvars.Context().run(read, {"platform": "xeon"}) == "xeon"
    assert contextvars.Context().run(kip.stack_platform, {}) is None


# ------------------------------------------------- containers-have-resource-limits

def test_limits_pass():
    assert violations("containers-have-resource-limits", DEPLOYMENT, deployment()) == []
    assert violations("containers-have-resource-limits", ISVC, isvc()) == []


@pytest.mark.parametrize("resource_type, props, fragment", [
    (DEPLOYMENT, deployment(resources={"requests": {"cpu": "1", "memory": "1Gi"}}),
     "spec.template.spec.containers[0]: no resources.limits.cpu and memory"),
    (DEPLOYMENT, deployment(resources={"limits": {"cpu": "1"}}), "no resources.limits.memory"),
    (DEPLOYMENT, deployment(pod={"initContainers": [{"name": "init", "image": "busybox:1.36"}]}),
     "spec.template.spec.initContainers[0]: no resources.limits.cpu and memory"),
    (ISVC, isvc(resources={"requests": {"cpu": "4"}}), "spec.predictor.model: no resources.limits.cpu and memory"),
    (ISVC, isvc(predictor={"containers": [{"name": "sidecar", "image": "envoy:1.30.0"}]}),
     "spec.predictor.containers[0]: no resources.limits"),
    (POD, {"spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}, "spec.containers[0]: no resources.limits"),
    (CRONJOB, {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}}},
     "spec.jobTemplate.spec.template.spec.containers[0]"),
])
def test_containers_without_limits_are_refused(resource_type, props, fragment):
    found = violations("containers-have-resource-limits", resource_type, props)
    assert any(fragment in message for message in found), found


def test_runtime_templates_take_their_limits_from_the_inference_service():
    assert violations("containers-have-resource-limits", CSR, {"spec": {"containers": [{"name": "c", "image": "x:1"}]}}) == []


def test_required_limits_are_configurable():
    props = deployment(resources={"limits": {"cpu": "1", "memory": "1Gi"}})
    found = violations("containers-have-resource-limits", DEPLOYMENT, props, {"requiredLimits": ["cpu", "memory", "ephemeral-storage"]})
    assert found and "no resources.limits.ephemeral-storage" in found[0]


# ----------------------------------------------------------------- images-pinned

@pytest.mark.parametrize("image", [
    "opea/vllm-gaudi:1.22.0",
    "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.10.2",
    "registry.local:5000/vllm@sha256:" + "a" * 64,
    "registry.local:5000/vllm:latest@sha256:" + "b" * 64,
])
def test_pinned_images_pass(image):
    assert violations("images-pinned", DEPLOYMENT, deployment(image=image)) == []


@pytest.mark.parametrize("image, fragment", [
    ("opea/vllm-gaudi:latest", "uses the mutable tag 'latest'"),
    ("opea/vllm-gaudi", "has no tag, so it means :latest"),
    ("registry.local:5000/vllm", "has no tag, so it means :latest"),
    ("vllm/vllm-openai:nightly", "uses the mutable tag 'nightly'"),
    ("intel/vllm:cpu-latest", "uses the mutable tag 'cpu-latest'"),
])
def test_mutable_images_are_refused(image, fragment):
    (message,) = violations("images-pinned", DEPLOYMENT, deployment(image=image))
    assert f"spec.template.spec.containers[0].image {image!r} {fragment}" in message


def test_mutable_images_are_refused_in_runtimes_and_helm_values():
    runtime = {"spec": {"containers": [container(image="opea/vllm-gaudi:latest")]}}
    assert violations("images-pinned", CSR, runtime)
    values = {"controller": {"image": {"repository": "kserve/kserve-controller", "tag": "latest"}},
              "agent": {"image": "kserve/agent"}}
    found = violations("images-pinned", RELEASE, {"name": "kserve", "values": values})
    assert any("values.controller.image.tag 'latest' is mutable" in m for m in found), found
    assert any("values.agent.image 'kserve/agent' has no tag" in m for m in found), found
    pinned = {"controller": {"image": {"repository": "kserve/kserve-controller", "tag": ""}}}
    assert violations("images-pinned", RELEASE, {"name": "kserve", "values": pinned}) == []


def test_image_beside_tag_is_judged_as_one_reference():
    # KServe's and Knative's charts render "{{ image }}:{{ tag }}"; the program pins through the tag.
    digest = "sha256:" + "d" * 64
    ok = {"kserve": {"controller": {"image": "mirror.local/kserve/kserve-controller", "tag": f"v0.13.0@{digest}"},
                     "storage": {"image": "kserve/storage-initializer", "tag": "v0.13.0"}}}
    assert violations("images-pinned", RELEASE, {"name": "kserve", "values": ok}) == []
    moving = {"kserve": {"router": {"image": "kserve/router", "tag": "latest"}}}
    (message,) = violations("images-pinned", RELEASE, {"name": "kserve", "values": moving})
    assert "values.kserve.router.image+tag 'kserve/router:latest' uses the mutable tag 'latest'" in message


# --------------------------------------------------------------- no-plain-secrets

def test_secrets_from_secret_refs_and_arg_references_pass():
    props = deployment(args=["--api-key", "$(VLLM_API_KEY)", "--max-num-batched-tokens", "2048"],
                       env=[{"name": "TOKENIZERS_PARALLELISM", "value": "false"},
                            {"name": "HF_HUB_DISABLE_XET", "value": "1"},
                            {"name": "VLLM_API_KEY", "valueFrom": {"secretKeyRef": {"name": "k", "key": "k"}}}])
    assert violations("no-plain-secrets", DEPLOYMENT, props) == []
    assert violations("no-plain-secrets", CONFIG_MAP, {"data": {"MAX_TOKENS": "4096", "log_level": "info"}}) == []


HF = "hf_" + "Ab1" * 12


@pytest.mark.parametrize("resource_type, props, fragment", [
    (DEPLOYMENT, deployment(env=[{"name": "HF_TOKEN", "value": "not-a-real-token"}]),
     "containers[0].env[0] HF_TOKEN is named like a secret and has a literal value"),
    (DEPLOYMENT, deployment(env=[{"name": "DOWNLOAD_FROM", "value": HF}]), "env[0] DOWNLOAD_FROM holds a credential"),
    (ISVC, isvc(args=["--model", "m", "--api-key", "s3cr3t"]), "spec.predictor.model.args[2] passes --api-key a literal value"),
    (ISVC, isvc(args=["--hf-token=abc"]), "args[0] passes --hf-token a literal value"),
    (DEPLOYMENT, deployment(command=["sh", "-c", f"HF_TOKEN={HF} vllm serve"]), "command[2] holds a credential"),
    (CONFIG_MAP, {"data": {"DB_PASSWORD": "hunter2"}}, "data.DB_PASSWORD is named like a secret"),
    (CONFIG_MAP, {"data": {"config.yaml": f"hub:\n  token: {HF}\n"}}, "data.config.yaml holds a credential"),
    (RELEASE, {"name": "x", "values": {"hub": {"token": HF}}}, "values.hub.token holds a credential"),
])
def test_plain_secrets_are_refused(resource_type, props, fragment):
    found = violations("no-plain-secrets", resource_type, props)
    assert any(fragment in message for message in found), found
    assert all("put it in a Secret" in message for message in found)


# ------------------------------------------------------------- no-privileged-pods

def test_restricted_and_gaudi_pods_are_not_privileged():
    assert violations("no-privileged-pods", DEPLOYMENT, deployment()) == []
    gaudi = {"capabilities": {"drop": ["ALL"], "add": ["IPC_LOCK", "SYS_NICE", "SYS_PTRACE"]}, "privileged": False}
    assert violations("no-privileged-pods", CSR, {"spec": {"containers": [container(securityContext=gaudi)]}}) == []


@pytest.mark.parametrize("resource_type, props, fragment", [
    (DEPLOYMENT, deployment(securityContext={"privileged": True}), "containers[0].securityContext.privileged: true"),
    (DEPLOYMENT, deployment(securityContext={"capabilities": {"add": ["SYS_ADMIN"]}}), "capabilities.add: SYS_ADMIN is privileged"),
    (DEPLOYMENT, deployment(pod={"hostNetwork": True}), "spec.template.spec.hostNetwork: true"),
    (POD, {"spec": {"hostPID": True, "containers": []}}, "spec.hostPID: true"),
    (ISVC, isvc(predictor={"hostIPC": True}), "spec.predictor.hostIPC: true"),
    (CSR, {"spec": {"hostIPC": True, "containers": []}}, "spec.hostIPC: true"),
    (ISVC, isvc(predictor={"workerSpec": {"containers": [container(securityContext={"privileged": True})]}}),
     "spec.predictor.workerSpec.containers[0].securityContext.privileged"),
    (RELEASE, {"name": "x", "values": {"daemon": {"hostNetwork": True}}}, "values.daemon.hostNetwork: true"),
])
def test_privileged_pods_and_host_namespaces_are_refused(resource_type, props, fragment):
    found = violations("no-privileged-pods", resource_type, props)
    assert any(fragment in message for message in found), found


# ------------------------------------------------ inference-services-await-readiness

def test_isvc_with_wait_and_timeout_passes():
    assert violations("inference-services-await-readiness", ISVC, isvc()) == []


def test_readiness_policy_ignores_other_objects():
    assert violations("inference-services-await-readiness", DEPLOYMENT, deployment()) == []


@pytest.mark.parametrize("annotations, fragment", [
    ({}, "no pulumi.com/waitFor annotation"),
    ({"pulumi.com/waitFor": "condition=Ready"}, "no pulumi.com/timeoutSeconds annotation"),
    ({"pulumi.com/waitFor": "jsonpath={.status.url}", "pulumi.com/timeoutSeconds": "60"}, "it must wait for the Ready condition"),
    ({"pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "1h"}, "must be a positive whole number"),
    ({"pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "0"}, "must be a positive whole number"),
    ({"pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "600", "pulumi.com/skipAwait": "true"},
     "pulumi.com/skipAwait is true"),
])
def test_isvc_without_readiness_timeout_is_refused(annotations, fragment):
    found = violations("inference-services-await-readiness", ISVC, isvc(annotations=annotations))
    assert any(fragment in message for message in found), found


# ------------------------------------------------------------ our own stacks pass

def _unwrap_secrets(value: Any) -> Any:
    """Inputs as a policy pack receives them: Pulumi secrets unwrapped."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return _unwrap_secrets(value["value"])
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


def _stack_violations(evaluation, platform: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for registration in evaluation.registrations:
        if not registration.type.startswith("kubernetes:"):
            continue
        for policy in POLICY:
            config = {"platform": platform} if policy == "gaudi-only-on-gaudi-stacks" else None
            for message in violations(policy, registration.type, _unwrap_secrets(registration.inputs), config):
                found.setdefault(f"{policy} {registration.name}", []).append(message)
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_of_our_stacks_passes_every_policy(committed_preview, stack):
    # As a preview sends them to the pack: images pinned by digest (the vllm-gaudi-0.26 tag is `latest`).
    evaluation = committed_preview[stack]
    assert evaluation.of_type(ISVC) and evaluation.of_type(CSR)
    assert _stack_violations(evaluation, stack) == {}


def test_gaudi_stack_objects_are_refused_on_a_xeon_stack(committed_preview):
    found = _stack_violations(committed_preview["gaudi"], "xeon")
    assert found and all(key.startswith("gaudi-only-on-gaudi-stacks ") for key in found)
    runtime = found["gaudi-only-on-gaudi-stacks clusterservingruntime-intel-vllm-gaudi"]
    assert any("IPC_LOCK, SYS_NICE, SYS_PTRACE" in m for m in runtime)


# ------------------------------------------------------------------- the pack

def test_pack_files_declare_a_python_pack_with_every_policy():
    manifest = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert manifest["version"]
    main = ast.parse((ROOT / "policy" / "__main__.py").read_text())
    calls = [n for n in ast.walk(main) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "PolicyPack"]
    (call,) = calls
    keywords = {k.arg: k.value for k in call.keywords}
    assert isinstance(keywords["policies"], ast.Name) and keywords["policies"].id == "POLICIES"
    assert len(POLICY) == len(kip.POLICIES) == 6
    assert all(p.enforcement_level.value == "mandatory" for p in kip.POLICIES)


def test_pack_requirements_pin_the_sdk_tested_here():
    def pins(path: Path) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return dict(line.split("==") for line in lines if "==" in line)

    pack = pins(ROOT / "policy" / "requirements.txt")
    dev = {**pins(ROOT / "requirements.txt"), **pins(ROOT / "requirements-dev.txt")}
    assert pack["pulumi-policy"] == dev["pulumi-policy"]
    assert pack["pulumi"] == dev["pulumi"]


def test_pack_serves_its_policies_to_the_engine_over_grpc():
    """`python policy` as the Pulumi CLI starts it: the analyzer answers on 127.0.0.1."""
    import select
    import subprocess
    import sys

    import grpc
    from google.protobuf import empty_pb2, struct_pb2
    from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

    proc = subprocess.Popen([sys.executable, str(ROOT / "policy")], stdout=subprocess.PIPE, cwd=ROOT)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the policy pack did not print its port"
        port = int(proc.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
            assert info.name == "kserve-intel-guardrails"
            assert [p.name for p in info.policies] == list(POLICY)
            props = struct_pb2.Struct()
            props.update(deployment(image="nginx:latest", resources={}))
            response = stub.Analyze(analyzer_pb2.AnalyzeRequest(
                type=DEPLOYMENT, properties=props, name="web",
                urn=f"urn:pulumi:ci::kserve-intel::{DEPLOYMENT}::web"), timeout=10)
        assert sorted(d.policyName for d in response.diagnostics) == ["containers-have-resource-limits", "images-pinned"]
        assert all(d.enforcementLevel == analyzer_pb2.MANDATORY for d in response.diagnostics)
    finally:
        proc.terminate()
        proc.wait(10)
