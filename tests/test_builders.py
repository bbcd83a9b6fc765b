"""Layer 2: exact fields per platform and KServe version, validated strictly
against the upstream schemas."""

from __future__ import annotations

import itertools

import pytest

from kserve_intel import naming
from kserve_intel.builders import kserve as kserve_builders
from kserve_intel.builders.model import cache_claim, hf_token_secret, inference_service, model_namespace
from kserve_intel.builders.runtime import cluster_serving_runtime
from kserve_intel.load import load_config
from kserve_intel.plan import build_plan
from offline.validation import validate_object
from tests.conftest import raw_config

PLATFORMS = ("xeon", "gaudi", "gaudi3")
VERSIONS = ("v0.13.0", "v0.20.0")
MODELS = {
    "xeon": ["Qwen/Qwen3-4B-Instruct-2507", "meta-llama/Llama-3.1-8B-Instruct"],
    "gaudi": ["meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen2.5-7B-Instruct"],
    "gaudi3": ["meta-llama/Llama-3.1-405B-Instruct", "Qwen/Qwen2.5-32B-Instruct"],
}


def make_plan(platform: str, version: str = "v0.13.0", **extra):
    values = {"platform": platform, "kserve": {"version": version}, "models": MODELS[platform], "hfToken": "hf_x", **extra}
    return build_plan(load_config(raw_config(**values), ["kserve-intel:hfToken"]))


def all_objects(plan):
    objects = [
        kserve_builders.kserve_namespace(plan), kserve_builders.cert_manager_namespace(),
        cluster_serving_runtime(plan), model_namespace(plan),
        {**hf_token_secret(plan), "stringData": {"HF_TOKEN": "redacted"}},
    ]
    for model in plan.models:
        objects += [cache_claim(plan, model), inference_service(plan, model, with_token=True)]
    return objects


FEATURES = {
    "defaults": {},
    "autoscaling": {"autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 3, "metric": "memory", "target": 70}},
    "no-storage": {"storage": {"enabled": False}},
    "storage-class": {"storage": {"storageClass": "fast", "accessMode": "ReadWriteMany"}},
}


@pytest.mark.parametrize("platform,version,feature", list(itertools.product(PLATFORMS, VERSIONS, FEATURES)))
def test_every_object_validates_strictly_against_upstream_schemas(platform, version, feature):
    plan = make_plan(platform, version, **FEATURES[feature])
    for obj in all_objects(plan):
        assert validate_object(obj, kserve_version=version) == [], obj["kind"]


def test_validation_would_catch_a_misplaced_field():
    # Guards the guard: the same objects with one field the CRD lacks must fail.
    plan = make_plan("gaudi")
    isvc = inference_service(plan, plan.models[0], with_token=True)
    isvc["spec"]["predictor"]["model"]["runtimeClassName"] = "habana"
    assert validate_object(isvc, kserve_version="v0.13.0")
    runtime = cluster_serving_runtime(plan)
    runtime["spec"]["runtimeClassName"] = "habana"
    assert validate_object(runtime, kserve_version="v0.13.0")


# --- runtime ------------------------------------------------------------------


def test_xeon_runtime_serves_vllm_cpu_with_intel_flags_and_no_capabilities():
    runtime = cluster_serving_runtime(make_plan("xeon", servingStack="vllm-0.10"))
    assert runtime["metadata"]["name"] == "intel-vllm-xeon"
    assert "annotations" not in runtime["metadata"]  # no server-type: KServe v0.20 must not rewrite the image
    spec = runtime["spec"]
    assert spec["supportedModelFormats"] == [{"name": "vllm-intel-xeon", "version": "1", "autoSelect": True}]
    (container,) = spec["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"] == "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.10.2"
    assert container["command"] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    assert container["args"][-4:] == ["--host", "0.0.0.0", "--port", "8080"]
    for flag in ("--enforce-eager", "--enable-chunked-prefill", "--distributed-executor-backend"):
        assert flag in container["args"]
    # HPU-only flags would make vLLM's CPU argparse exit.
    for flag in ("--max-num-prefill-seqs", "--use-padding-aware-scheduling", "--num-scheduler-steps"):
        assert flag not in container["args"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "40"
    assert env["HF_HOME"] == "/data"
    assert "HABANA_VISIBLE_DEVICES" not in env
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert spec["nodeSelector"] == {"feature.node.kubernetes.io/cpu-cpuid.AVX512VNNI": "true"}
    assert "tolerations" not in spec
    assert container["ports"] == [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}]


@pytest.mark.parametrize("platform", ["gaudi", "gaudi3"])
def test_gaudi_runtime_uses_a_vllm_image_and_the_gaudi_exceptions(platform):
    runtime = cluster_serving_runtime(make_plan(platform, servingStack="vllm-fork-1.22"))
    spec = runtime["spec"]
    (container,) = spec["containers"]
    assert container["image"] == "opea/vllm-gaudi:1.22.0"
    assert "--use-padding-aware-scheduling" in container["args"]
    assert container["args"][container["args"].index("--block-size") + 1] == "128"
    assert container["args"][container["args"].index("--dtype") + 1] == "bfloat16"
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["IPC_LOCK", "SYS_NICE", "SYS_PTRACE"]}
    assert spec["tolerations"] == [{"key": "habana.ai/gaudi", "operator": "Exists", "effect": "NoSchedule"}]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PT_HPU_LAZY_MODE"] == "1"
    # The device plugin chooses the cards; "all" would expose every card on the node.
    assert "HABANA_VISIBLE_DEVICES" not in env


def test_runtime_probes_allow_minutes_of_model_loading():
    for platform in PLATFORMS:
        (container,) = cluster_serving_runtime(make_plan(platform))["spec"]["containers"]
        startup = container["startupProbe"]
        assert startup["httpGet"] == {"path": "/health", "port": 8080}
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 3600
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"


def test_runtime_image_and_node_selector_overrides():
    plan = make_plan("gaudi3", runtimes={"image": "registry.local/vllm-gaudi@sha256:" + "a" * 64,
                                          "nodeSelector": {"intel.com/gaudi-generation": "3"}})
    runtime = cluster_serving_runtime(plan)
    assert runtime["spec"]["containers"][0]["image"].endswith("a" * 64)
    assert runtime["spec"]["nodeSelector"] == {"intel.com/gaudi-generation": "3"}


# --- InferenceService -----------------------------------------------------------


def test_gaudi_isvc_requests_one_card_per_tensor_parallel_rank():
    plan = make_plan("gaudi")
    llama70 = plan.models[0]
    isvc = inference_service(plan, llama70, with_token=True)
    predictor = isvc["spec"]["predictor"]
    model = predictor["model"]
    assert model["modelFormat"] == {"name": "vllm-intel-gaudi"}
    assert model["runtime"] == "intel-vllm-gaudi"
    assert model["resources"]["limits"]["habana.ai/gaudi"] == "4"
    assert model["resources"]["requests"]["habana.ai/gaudi"] == "4"
    # vllm-gaudi-0.26: `vllm serve <model>`, then the launcher's values for 70B at TP 4.
    assert model["args"][:9] == [
        "meta-llama/Llama-3.3-70B-Instruct",
        "--served-model-name", "meta-llama/Llama-3.3-70B-Instruct",
        "--tensor-parallel-size", "4",
        "--pipeline-parallel-size", "1",
        "--max-model-len", "8192",
    ]
    assert model["args"][9:] == ["--enable-auto-tool-choice", "--tool-call-parser", "llama3_json",
                                 "--gpu-memory-utilization", "0.91", "--max-num-seqs", "128"]
    assert predictor["runtimeClassName"] == "habana"
    assert predictor["volumes"] == [{"name": "model-cache", "persistentVolumeClaim": {"claimName": "llama-3-3-70b-instruct-cache"}}]
    assert model["volumeMounts"] == [{"name": "model-cache", "mountPath": "/data"}]


def test_xeon_isvc_is_guaranteed_qos_with_whole_cpus():
    plan = make_plan("xeon")
    resources = inference_service(plan, plan.models[0], with_token=False)["spec"]["predictor"]["model"]["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "32", "memory": "128Gi"}
    assert "runtimeClassName" not in inference_service(plan, plan.models[0], False)["spec"]["predictor"]


def test_precedence_platform_then_catalogue_then_model_config():
    plan = make_plan("xeon", models=[
        "Qwen/Qwen3-Coder-30B-A3B-Instruct",
        {"id": "Qwen/Qwen3-Coder-30B-A3B-Instruct", "name": "coder-custom", "servedModelName": "coder-custom",
         "maxModelLen": 4096,
         "extraArgs": ["--max-num-seqs", "4"], "env": {"VLLM_CPU_KVCACHE_SPACE": "20"},
         # 96Gi: 57 GiB of bf16 weights + 20 GiB KV + runtime (64Gi is refused by the capacity rule).
         "resources": {"requests": {"memory": "96Gi"}, "limits": {"memory": "96Gi"}}},
        {"id": "acme/unknown-model", "gated": False},
    ])
    catalogued, custom, unknown = plan.models
    assert catalogued.max_model_len == 32768 and catalogued.env["VLLM_CPU_KVCACHE_SPACE"] == "10"
    assert "--tool-call-parser" in catalogued.args and "qwen3_coder" in catalogued.args
    assert custom.max_model_len == 4096 and custom.env["VLLM_CPU_KVCACHE_SPACE"] == "20"
    assert custom.args[-2:] == ("--max-num-seqs", "4")  # after the catalogue's, so argparse keeps it
    assert custom.resources["limits"]["memory"] == "96Gi" and custom.resources["limits"]["cpu"] == "32"
    assert unknown.max_model_len == 8192 and unknown.tensor_parallel_size == 1 and not unknown.catalogued
    assert any("acme/unknown-model" in w for w in plan.warnings)


@pytest.mark.parametrize("version,mode,off", [("v0.13.0", "RawDeployment", "external"), ("v0.15.2", "RawDeployment", "external"),
                                              ("v0.16.0", "Standard", "none"), ("v0.20.0", "Standard", "none")])
def test_mode_and_autoscaler_annotations_follow_the_version(version, mode, off):
    plan = make_plan("xeon", version)
    isvc = inference_service(plan, plan.models[0], with_token=False)
    annotations = isvc["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == mode
    assert annotations["serving.kserve.io/autoscalerClass"] == off
    predictor = isvc["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 1)
    assert "scaleMetric" not in predictor


def test_autoscaling_is_honoured_in_the_isvc():
    plan = make_plan("gaudi", autoscaling={"enabled": True, "minReplicas": 2, "maxReplicas": 6, "target": 60})
    isvc = inference_service(plan, plan.models[1], with_token=False)
    predictor = isvc["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"], predictor["scaleMetric"], predictor["scaleTarget"]) == (2, 6, "cpu", 60)
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "hpa"


def test_pod_meets_the_restricted_profile_but_for_gaudi_capabilities():
    for platform in PLATFORMS:
        plan = make_plan(platform)
        predictor = inference_service(plan, plan.models[0], with_token=True)["spec"]["predictor"]
        (container,) = cluster_serving_runtime(plan)["spec"]["containers"]
        pod = predictor["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] >= 10000
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        assert predictor["automountServiceAccountToken"] is False
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["privileged"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"]["drop"] == ["ALL"]
        # Xeon's default stack vllm-0.33 adds SYS_NICE alone (NUMA binding); Gaudi adds its trio.
        assert sc["capabilities"].get("add") == (["SYS_NICE"] if platform == "xeon" else ["IPC_LOCK", "SYS_NICE", "SYS_PTRACE"])
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        mounts = {m["mountPath"] for m in container["volumeMounts"]} | {m["mountPath"] for m in predictor["model"]["volumeMounts"]}
        assert {"/tmp", "/dev/shm", "/data"} <= mounts  # every path vLLM writes is a volume
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(predictor["model"]["resources"][kind])
        ns = model_namespace(plan)["metadata"]["labels"]
        # SYS_NICE is outside the baseline and restricted profiles: vllm-0.33 needs "privileged" admission too.
        assert ns["pod-security.kubernetes.io/enforce"] == "privileged"
        assert ns["pod-security.kubernetes.io/warn"] == ns["pod-security.kubernetes.io/audit"] == "restricted"


def test_the_old_xeon_stack_keeps_the_restricted_profile():
    plan = make_plan("xeon", servingStack="vllm-0.10")
    (container,) = cluster_serving_runtime(plan)["spec"]["containers"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert model_namespace(plan)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


# --- names ----------------------------------------------------------------------------


def test_names_fit_every_object_kserve_derives():
    long_id = "some-organisation/an-extremely-long-model-name-that-goes-on-and-on-v2-instruct-awq"
    name = naming.model_name(long_id, "intel-inference")
    assert len(f"{name}-predictor-intel-inference") <= 63
    assert len(f"{name}-predictor-00001-private") <= 63
    assert name == naming.model_name(long_id, "intel-inference")  # stable
    assert name != naming.model_name(long_id + "-2", "intel-inference")  # hash tells them apart
    assert naming.model_name("meta-llama/Llama-3.1-8B-Instruct", "intel-inference") == "llama-3-1-8b-instruct"
    assert naming.model_name("org/7B-model", "ns") == "m-7b-model"


@pytest.mark.parametrize("namespace", ["a", "intel-inference", "x" * 30])
def test_max_name_length_tracks_the_namespace(namespace):
    limit = naming.max_model_name_length(namespace)
    assert limit + len("-predictor-") + len(namespace) <= 63
    assert limit + len("-predictor-00001-private") <= 63


def test_labels_are_the_recommended_set():
    labels = naming.labels("r1", "inference-server", "v0.10.2")
    assert set(labels) == {f"app.kubernetes.io/{k}" for k in ("name", "instance", "component", "part-of", "managed-by", "version")}


def test_a_failed_model_is_named_with_what_to_run():
    from kserve_intel.builders.model import not_ready_message
    from kserve_intel.load import load_config
    from kserve_intel.plan import build_plan

    plan = build_plan(load_config({"kserve-intel:platform": "xeon", "kserve-intel:namespace": "models",
                                   "kserve-intel:models": '[{"id": "Qwen/Qwen2.5-7B-Instruct", "name": "qwen", '
                                                          '"readyTimeoutMinutes": 3}]'}))
    (model,) = plan.models
    created = not_ready_message(model, "create", ["1 error occurred:\n\t* resource \"urn:pulumi:s::p::t::n\" was "
                                                  "successfully created, but the Kubernetes API server reported that "
                                                  "it failed to fully initialize or become live: timed out waiting "
                                                  "for the condition"])
    assert "model qwen (Qwen/Qwen2.5-7B-Instruct) did not become Ready within 3 min" in created
    assert "(readyTimeoutMinutes; timed out waiting for the condition)" in created
    assert "kubectl -n models describe inferenceservice qwen" in created
    assert "ClusterServingRuntime" not in created
    # An application stack (runtimes.configureIntel false): the runtime another stack provides is named first.
    app = not_ready_message(model, "create", ["... failed to fully initialize or become live: timed out waiting"],
                            external_runtime="intel-vllm-xeon")
    assert ("Its runtime, ClusterServingRuntime intel-vllm-xeon, comes from another stack (runtimes.configureIntel "
            "is false): if `kubectl get clusterservingruntime intel-vllm-xeon` finds none, it is missing") in app
    refused = not_ready_message(model, "create", ['resource models/qwen was not successfully created by the '
                                                  'Kubernetes API server: Internal error occurred: failed calling '
                                                  'webhook "inferenceservice.kserve-webhook-server.defaulter"'])
    assert "model qwen (Qwen/Qwen2.5-7B-Instruct): the API server refused" in refused
    assert "kubectl -n kserve get pods" in refused and "did not become Ready" not in refused
    other = not_ready_message(model, "update", ["admission webhook denied the request: bad field"])
    assert "failed (admission webhook denied the request: bad field)" in other
    assert not_ready_message(model, "create", ["... failed to fully initialize or become live: context canceled"]) is None
    conflict = not_ready_message(model, "update", ["Server-Side Apply field conflict detected. ... conflict with "
                                                    '"kubectl-edit": .spec.predictor.model.args'])
    assert "PULUMI_K8S_ENABLE_PATCH_FORCE=true pulumi up --refresh" in conflict
    deleted = not_ready_message(model, "delete", ["timed out"])
    assert "was not deleted within deleteTimeoutMinutes" in deleted
    assert "kubectl -n kserve get pods" in deleted and "patch inferenceservice qwen" in deleted
