"""The pod KServe would create, scanned by checkov's Kubernetes checks.

checkov reads Deployments, not KServe custom resources, so each case builds
the Deployment KServe would create (`offline.predicted_pod`) and scans it
together with the namespace's NetworkPolicy. Every failed check must be one
of the documented exceptions that applies to that case (docs/security.md):

* CKV_K8S_25 (added capabilities): Gaudi (IPC_LOCK, SYS_NICE, SYS_PTRACE) and the Xeon serving stack
  vllm-0.33 (SYS_NICE alone, for NUMA binding); never vllm-0.10;
* CKV_K8S_35 (secret as environment variable): only with a token (HF_TOKEN from secretKeyRef);
* CKV_K8S_43 (image by digest): only with `images.resolve: false` and no digest (from `runtimes.image` or
  `images.digests`): every other deploy applies `repo:tag@sha256:...` resolved at preview/up, which the
  cases reproduce with tests.conftest.PreviewResolver; CKV_K8S_14 (image tag `latest`) as well when that
  unpinned image is the vllm-gaudi-0.26 stack's `:latest`.

Serverless: KServe writes the same merged pod into the Knative Service, so the
predicted pod is scanned as the revision's Deployment; Knative's queue-proxy
sidecar is Knative's own and not part of the scan. Canary (KServe v0.20
Standard): the canary Deployment `<model>-canary-predictor` is scanned too.
Neither adds an exception.

checkov lives in its own venv (`make checkov`), found through $CHECKOV.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from kserve_intel.builders.model import inference_service
from kserve_intel.builders.network import model_network_policy
from dataclasses import replace

from kserve_intel.builders.images import stack_images
from kserve_intel.builders.runtime import cluster_serving_runtime
from kserve_intel.rules.images import moving_tag, pin
from offline.predicted_pod import predicted_deployment, strategic_merge
from tests.conftest import PreviewResolver
from tests.test_builders import make_plan

ROOT = Path(__file__).resolve().parent.parent
DIGEST = "opea/vllm-gaudi@sha256:" + "a" * 64

SERVERLESS = {"kserve": {"version": "v0.20.0", "deploymentMode": "Serverless"}}
CANARY = {"kserve": {"version": "v0.20.0", "deploymentMode": "Standard"},
          "models": [{"id": "Qwen/Qwen2.5-32B-Instruct", "canary": {"trafficPercent": 10, "image": "opea/vllm-gaudi:1.23.0"}}]}
CASES = {
    # name: (platform, extra config, with token)
    "xeon": ("xeon", {}, True),
    "xeon-open-digest": ("xeon", {"servingStack": "vllm-0.10",
                                  "runtimes": {"image": "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo@sha256:" + "b" * 64}}, False),
    "xeon-old-stack": ("xeon", {"servingStack": "vllm-0.10"}, True),
    # models[0] picks the old stack beside a model on the stack-wide vllm-0.33: scanned with its own runtime.
    "xeon-per-model-old": ("xeon", {"models": [{"id": "Qwen/Qwen3-1.7B", "servingStack": "vllm-0.10"},
                                               {"id": "Qwen/Qwen2.5-7B-Instruct"}]}, True),
    "gaudi": ("gaudi", {}, True),
    # Backends besides vLLM: their pods meet the same profile (no SYS_NICE on Xeon).
    "xeon-tgi": ("xeon", {"backend": "tgi"}, True),
    "gaudi-tgi": ("gaudi", {"backend": "tgi"}, True),
    "xeon-ovms": ("xeon", {"backend": "ovms", "models": [{"id": "Qwen/Qwen3-1.7B"}]}, False),
    "xeon-custom": ("xeon", {"backend": "own", "models": [{"id": "Qwen/Qwen3-1.7B", "gated": False}],
                             "runtimes": {"custom": [{"name": "own", "image": "registry.local/own-server:1.0",
                                                      "platforms": ["xeon"], "healthPath": "/healthz"}]}}, False),
    "gaudi3-digest": ("gaudi3", {"runtimes": {"image": DIGEST}}, True),
    "xeon-serverless": ("xeon", SERVERLESS, True),
    "gaudi3-serverless": ("gaudi3", SERVERLESS, True),
    "gaudi3-standard": ("gaudi3", {**CANARY, "models": [{"id": "Qwen/Qwen2.5-32B-Instruct"}]}, True),
    "gaudi3-canary": ("gaudi3", CANARY, True),
    # Air-gapped without digests: the images go out by tag (the documented exception).
    "gaudi-unpinned": ("gaudi", {"images": {"resolve": False}}, True),
    "xeon-unpinned": ("xeon", {"images": {"resolve": False}}, True),
}
# Cases scanned as a canary's Deployment rather than the stable predictor's.
CANARY_CASES = {"gaudi3-canary": "canary"}


# Serving stacks whose CPU pods add SYS_NICE (NUMA binding): the only Xeon CKV_K8S_25 exception.
NUMA_BINDING_STACKS = {"vllm-0.33"}


def expected_exceptions(platform: str, extra: dict, token: bool) -> set[str]:
    allowed = set()
    if platform != "xeon" or (extra.get("servingStack", "vllm-0.33") in NUMA_BINDING_STACKS
                              and extra.get("backend", "vllm") == "vllm"):
        allowed.add("CKV_K8S_25")
    if token:
        allowed.add("CKV_K8S_35")
    unpinned = extra.get("images", {}).get("resolve", True) is False and "@sha256:" not in extra.get(
        "runtimes", {}).get("image", "")
    if unpinned:
        allowed.add("CKV_K8S_43")
        if platform != "xeon":  # vllm-gaudi-0.26's `latest`
            allowed.add("CKV_K8S_14")
    return allowed


def as_deployed(plan):
    """The plan as preview/up apply it: every image pinned by digest (unless images.resolve is false)."""
    if not plan.config.images.resolve:
        return plan
    return replace(plan, images=pin(stack_images(plan), plan.config, PreviewResolver()))


def _checkov() -> str:
    path = os.environ.get("CHECKOV") or str(ROOT / ".venv-checkov" / "bin" / "checkov")
    if not Path(path).exists():
        pytest.fail(f"checkov not found at {path}: run `make test` (it creates .venv-checkov) or set CHECKOV")
    return path


@pytest.fixture(scope="module")
def scan(tmp_path_factory) -> dict[str, set[str]]:
    """case -> failed check ids, from one checkov run over every case."""
    directory = tmp_path_factory.mktemp("pods")
    for case, (platform, extra, token) in CASES.items():
        plan = as_deployed(make_plan(platform, namespace=f"ns-{case}", **extra))
        isvc = inference_service(plan, plan.models[0], token)
        deployment = predicted_deployment(cluster_serving_runtime(plan, plan.models[0].runtime), isvc,
                                          CANARY_CASES.get(case))
        deployment["metadata"]["name"] = case
        (directory / f"{case}.yaml").write_text(yaml.safe_dump_all([deployment, model_network_policy(plan)]))
    result = subprocess.run(
        [_checkov(), "-d", str(directory), "--framework", "kubernetes", "-o", "json", "--quiet", "--compact"],
        capture_output=True, text=True, timeout=300,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed: dict[str, set[str]] = {case: set() for case in CASES}
    for item in reports:
        for check in item["results"]["failed_checks"]:
            failed[Path(check["file_path"]).stem].add(check["check_id"])
    return failed


@pytest.mark.parametrize("case", CASES)
def test_predicted_pod_fails_only_documented_checks(scan, case):
    platform, extra, token = CASES[case]
    assert scan[case] <= expected_exceptions(platform, extra, token), case


def test_the_documented_exceptions_are_real(scan):
    # Guards the guard: each exception shows up exactly where it is expected.
    assert "CKV_K8S_25" in scan["gaudi"] and "CKV_K8S_25" in scan["xeon"]  # xeon: vllm-0.33's SYS_NICE
    assert "CKV_K8S_25" not in scan["xeon-old-stack"] and "CKV_K8S_25" not in scan["xeon-open-digest"]
    assert "CKV_K8S_25" not in scan["xeon-per-model-old"]  # the old stack's own runtime, even beside vllm-0.33
    for case in ("xeon-tgi", "xeon-ovms", "xeon-custom"):  # SYS_NICE is vllm-0.33's alone
        assert "CKV_K8S_25" not in scan[case], case
    assert "CKV_K8S_25" in scan["gaudi-tgi"]  # the Gaudi capabilities, as for vLLM on Gaudi
    assert "CKV_K8S_35" in scan["xeon"] and "CKV_K8S_35" not in scan["xeon-open-digest"]
    # Pinned by digest everywhere but with images.resolve false.
    assert "CKV_K8S_43" in scan["gaudi-unpinned"] and "CKV_K8S_43" in scan["xeon-unpinned"]
    assert not any("CKV_K8S_43" in scan[c] for c in CASES if not c.endswith("-unpinned"))
    assert "CKV_K8S_14" in scan["gaudi-unpinned"] and moving_tag(make_plan("gaudi").image)


def test_serverless_and_canary_pods_fail_exactly_like_the_standard_pod(scan):
    # The modes change who runs the pod, not its security: same findings as the Standard pod.
    assert scan["gaudi3-serverless"] == scan["gaudi3-standard"] == scan["gaudi3-canary"]
    assert scan["xeon-serverless"] == scan["xeon"]


def test_canary_deployment_is_the_canary_predictor_merged_over_the_runtime():
    plan = make_plan("gaudi3", **CANARY)
    runtime = cluster_serving_runtime(plan)
    isvc = inference_service(plan, plan.models[0], with_token=True)
    stable = predicted_deployment(runtime, isvc)
    canary = predicted_deployment(runtime, isvc, "canary")
    name = plan.models[0].name
    assert canary["metadata"]["name"] == f"{name}-canary-predictor" and stable["metadata"]["name"] == f"{name}-predictor"
    (container,) = canary["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "opea/vllm-gaudi:1.23.0"
    assert container["securityContext"] == stable["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert canary["spec"]["template"]["spec"]["securityContext"] == stable["spec"]["template"]["spec"]["securityContext"]
    assert "name" not in canary["spec"]["template"]["spec"]


# --- the merge itself -----------------------------------------------------------


def test_merge_appends_args_and_merges_lists_by_key():
    plan = make_plan("gaudi")
    runtime = cluster_serving_runtime(plan)
    isvc = inference_service(plan, plan.models[0], with_token=True)
    deployment = predicted_deployment(runtime, isvc)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == runtime["spec"]["containers"][0]["args"] + isvc["spec"]["predictor"]["model"]["args"]
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/dev/shm", "/tmp", "/data"]
    assert container["resources"] == isvc["spec"]["predictor"]["model"]["resources"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert [v["name"] for v in pod["volumes"]] == ["dshm", "tmp", "model-cache"]
    assert pod["serviceAccountName"] == "kserve-intel-vllm" and pod["automountServiceAccountToken"] is False
    assert pod["runtimeClassName"] == "habana" and pod["nodeSelector"] == runtime["spec"]["nodeSelector"]
    assert deployment["spec"]["template"]["metadata"]["labels"]["serving.kserve.io/inferenceservice"] == plan.models[0].name


def test_strategic_merge_overrides_by_key_and_replaces_plain_lists():
    base = {"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], "command": ["a"], "x": {"k": 1}}
    patch = {"env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}], "command": ["b"], "x": {"j": 2}}
    assert strategic_merge(base, patch) == {
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
        "command": ["b"], "x": {"k": 1, "j": 2},
    }
