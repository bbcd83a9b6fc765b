"""Serverless, autoscaling engines, canary, revision and multi-node: exact fields
per mode and KServe version, strict schema validation, and refusals."""

from __future__ import annotations

import itertools
import json

import pytest
import yaml

from kserve_intel.builders import knative, multinode
from kserve_intel.builders import kserve as kserve_builders
from kserve_intel.builders.model import inference_service
from kserve_intel.builders.autoscaling import keda_release, pod_selector, scaled_object, vllm_query
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import build_plan
from offline.validation import SCHEMA_DIR, validate_object
from kserve_intel.catalog.kserve import SUPPORTED_TAGS, KServeRelease
from tests.conftest import TOKEN, raw_config, run_stack

PLATFORMS = ("xeon", "gaudi", "gaudi3")
SCHEMA_VERSIONS = ("v0.13.0", "v0.20.0")
MODEL = {"xeon": "Qwen/Qwen3-4B-Instruct-2507", "gaudi": "Qwen/Qwen2.5-7B-Instruct", "gaudi3": "Qwen/Qwen2.5-32B-Instruct"}
WAKE = 'sum(rate(apisix_http_status{route=~".*qwen.*"}[1m]))'
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
RELEASE = "kubernetes:helm.sh/v3:Release"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
KNATIVE_SERVING = "kubernetes:operator.knative.dev/v1beta1:KnativeServing"
JOB = "kubernetes:batch/v1:Job"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"


def make_plan(platform="gaudi", version="v0.13.0", models=None, **extra):
    values = {"platform": platform, "kserve": {"version": version}, "models": models or [MODEL[platform]],
              "hfToken": "hf_x", **extra}
    if "kserve" in extra:
        values["kserve"] = {"version": version, **extra["kserve"]}
    return build_plan(load_config(raw_config(**values), ["kserve-intel:hfToken"]))


def isvc_of(plan, index=0):
    return inference_service(plan, plan.models[index], with_token=True)


def valid(obj, version):
    problems = validate_object(obj, kserve_version=version)
    assert problems == [], problems
    return obj


# --- versions -------------------------------------------------------------------------


@pytest.mark.parametrize("tag,knative_version,operator,keda,keda_class,worker,canary,lmc", [
    ("v0.13.0", "1.13.1", "v1.15.2", "2.14.0", False, False, False, False),
    ("v0.14.1", "1.13.1", "v1.15.2", "2.14.0", False, False, False, False),
    ("v0.15.2", "1.15.2", "v1.15.2", "2.14.0", True, True, False, True),
    ("v0.16.0", "1.21.1", "v1.21.1", "2.18.0", True, True, False, True),
    ("v0.19.0", "1.21.1", "v1.21.1", "2.18.0", True, True, False, True),
    ("v0.20.0", "1.21.1", "v1.21.1", "2.18.0", True, True, True, True),
])
def test_release_knows_what_each_version_supports(tag, knative_version, operator, keda, keda_class, worker, canary, lmc):
    release = KServeRelease(tag)
    assert release.knative_serving_version == knative_version
    assert release.knative_operator_chart_version == operator
    assert release.keda_chart_version == keda
    assert release.supports_keda_autoscaler_class is keda_class
    assert release.supports_worker_spec is worker
    assert release.supports_spec_canary is canary
    assert release.supports_local_model_cache is lmc


# --- Serverless -----------------------------------------------------------------------

SERVERLESS = {"kserve": {"deploymentMode": "Serverless"}}


@pytest.mark.parametrize("platform,version", list(itertools.product(PLATFORMS, SCHEMA_VERSIONS)))
def test_serverless_isvc_scales_to_zero_with_a_long_progress_deadline(platform, version):
    plan = make_plan(platform, version, autoscaling={"enabled": True, "minReplicas": 0, "maxReplicas": 3}, **SERVERLESS)
    isvc = valid(isvc_of(plan), version)
    annotations = isvc["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == ("Serverless" if version == "v0.13.0" else "Knative")
    # Knative's 10 minute default would kill a loading model (kserve/kserve#3795).
    assert annotations["serving.knative.dev/progress-deadline"] == f"{int(annotations['pulumi.com/timeoutSeconds']) // 60}m"
    assert int(annotations["pulumi.com/timeoutSeconds"]) >= 3600
    assert "serving.kserve.io/autoscalerClass" not in annotations
    # KServe sets these from min/maxReplicas; they are on its disallowed list.
    assert not any(k.startswith("autoscaling.knative.dev/m") for k in annotations)
    predictor = isvc["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (0, 3)
    assert (predictor["scaleMetric"], predictor["scaleTarget"]) == ("concurrency", 16)
    assert "terminationGracePeriodSeconds" not in predictor  # Knative refuses it


def _knative_template_schema():
    path = SCHEMA_DIR / "knative-serving" / "knative-v1.23.0" / "serving.knative.dev_services.yaml"
    crd = yaml.safe_load(path.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    return version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["template"]["properties"]["spec"]


def _flag(description: str) -> str | None:
    marker = "feature flag - "
    return description.split(marker, 1)[1].split()[0].rstrip(".") if marker in description else None


@pytest.mark.parametrize("platform", PLATFORMS)
def test_serverless_pod_fields_are_ones_knative_accepts_with_the_flags_we_enable(platform):
    """Every pod, container and volume field KServe copies into the Knative
    Service is in the vendored Knative Service schema, and each flag-gated one
    is enabled in our KnativeServing."""
    plan = make_plan(platform, "v0.20.0", **SERVERLESS)
    predictor = isvc_of(plan)["spec"]["predictor"]
    from kserve_intel.builders.runtime import cluster_serving_runtime

    runtime = cluster_serving_runtime(plan)["spec"]
    schema = _knative_template_schema()
    enabled = set(knative.knative_serving(plan)["spec"]["config"]["features"])
    kserve_only = {"minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "labels", "model", "canaryTrafficPercent"}
    needed = set()
    for key in set(predictor) - kserve_only | ({"nodeSelector", "tolerations"} & set(runtime)):
        assert key in schema["properties"], f"Knative refuses pod field {key}"
        needed.add(_flag(schema["properties"][key].get("description", "")))
    container_schema = schema["properties"]["containers"]["items"]["properties"]
    (container,) = runtime["containers"]
    for key in container:
        assert key in container_schema, f"Knative refuses container field {key}"
    if container["securityContext"]["capabilities"].get("add"):
        needed.add(_flag(container_schema["securityContext"]["properties"]["capabilities"]["properties"]["add"]["description"]))
    volume_schema = schema["properties"]["volumes"]["items"]["properties"]
    for volume in predictor["volumes"] + runtime["volumes"]:
        (kind,) = set(volume) - {"name"}
        needed.add(_flag(volume_schema[kind].get("description", "")))
    needed.discard(None)
    assert needed <= enabled, needed - enabled
    assert set(runtime["containers"][0]["ports"][0].values()) >= {"http1", 8080}


def test_knative_install_is_operator_then_knative_serving_then_kserve():
    evaluation = run_stack("xeon", hfToken=TOKEN, kserve={"deploymentMode": "Serverless", "version": "v0.20.0"})
    releases = {r.inputs["name"]: r for r in evaluation.of_type(RELEASE)}
    operator = releases["knative-operator"]
    assert operator.inputs["chart"] == "knative-operator"
    assert operator.inputs["repositoryOpts"] == {"repo": "https://knative.github.io/operator"}
    assert operator.inputs["version"] == "v1.21.1"
    assert operator.inputs["namespace"] == "knative-operator"
    (serving,) = evaluation.of_type(KNATIVE_SERVING)
    assert operator.urn in serving.dependencies
    spec = serving.inputs["spec"]
    assert spec["version"] == "1.21.1"
    assert spec["ingress"] == {"kourier": {"enabled": True}}
    assert spec["config"]["network"] == {"ingress-class": "kourier.ingress.networking.knative.dev",
                                         "domain-template": "{{.Name}}.{{.Namespace}}.{{.Domain}}"}
    assert spec["config"]["domain"] == {"example.com": ""}
    assert spec["config"]["deployment"]["progress-deadline"] == "90m"
    # Xeon's default stack vllm-0.33 adds SYS_NICE (NUMA binding), so Knative must allow added capabilities.
    assert spec["config"]["features"]["kubernetes.containerspec-addcapabilities"] == "enabled"
    old = run_stack("xeon", hfToken=TOKEN, servingStack="vllm-0.10",
                    kserve={"deploymentMode": "Serverless", "version": "v0.20.0"}).of_type(KNATIVE_SERVING)[0]
    # vllm-0.10 adds none: the feature stays off.
    assert "kubernetes.containerspec-addcapabilities" not in old.inputs["spec"]["config"]["features"]
    assert serving.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Ready"
    controller = releases["kserve-resources"]
    assert serving.urn in controller.dependencies
    values = controller.inputs["values"]["kserve"]["controller"]
    assert values["deploymentMode"] == "Knative"
    assert values["gateway"]["disableIstioVirtualHost"] is True  # Kourier, no Istio
    for isvc in evaluation.of_type(ISVC):
        assert serving.urn in isvc.dependencies
    assert evaluation.outputs["deploymentMode"] == "Knative"


def test_serverless_with_istio_and_existing_knative():
    evaluation = run_stack("gaudi3", hfToken=TOKEN, kserve={"deploymentMode": "Serverless", "networking": "istio", "version": "v0.15.2"},
                           autoscaling={"enabled": False})
    (serving,) = evaluation.of_type(KNATIVE_SERVING)
    assert serving.inputs["spec"]["ingress"] == {"istio": {"enabled": True}}
    assert serving.inputs["spec"]["version"] == "1.15.2"
    assert {"kubernetes.podspec-runtimeclassname", "kubernetes.containerspec-addcapabilities"} <= set(
        serving.inputs["spec"]["config"]["features"])
    controller = {r.inputs["name"]: r for r in evaluation.of_type(RELEASE)}["kserve"]
    assert "disableIstioVirtualHost" not in controller.inputs["values"]["kserve"]["controller"]["gateway"]
    assert controller.inputs["values"]["kserve"]["controller"]["deploymentMode"] == "Serverless"

    existing = run_stack("gaudi3", hfToken=TOKEN, kserve={"deploymentMode": "Knative", "knative": "existing"},
                         autoscaling={"enabled": False})
    assert existing.of_type(KNATIVE_SERVING) == []
    assert "knative-operator" not in {r.inputs["name"] for r in existing.of_type(RELEASE)}


# --- HPA and KEDA in RawDeployment -------------------------------------------------------

KEDA = {"autoscaling": {"enabled": True, "engine": "keda", "minReplicas": 1, "maxReplicas": 4}}
KEDA_ZERO = {"autoscaling": {"enabled": True, "engine": "keda", "minReplicas": 0, "maxReplicas": 4, "keda": {"wakeQuery": WAKE}}}


def test_vllm_queries_select_only_the_models_stable_pods():
    plan = make_plan("gaudi", **KEDA)
    model = plan.models[0]
    assert pod_selector(model) == 'namespace="intel-inference",pod=~"qwen2-5-7b-instruct-predictor-[a-z0-9]+-[a-z0-9]+"'
    assert vllm_query(model, "waiting") == f"sum(vllm:num_requests_waiting{{{pod_selector(model)}}})"
    assert vllm_query(model, "ttft").startswith("1000 * histogram_quantile(0.9, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_keda_before_v015_is_our_scaled_object_on_the_predictor_deployment(platform):
    plan = make_plan(platform, "v0.13.0", **KEDA_ZERO)
    isvc = valid(isvc_of(plan), "v0.13.0")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "external"
    assert "autoScaling" not in isvc["spec"]["predictor"]
    assert (isvc["spec"]["predictor"]["minReplicas"], isvc["spec"]["predictor"]["maxReplicas"]) == (0, 4)
    obj = valid(scaled_object(plan, plan.models[0]), "v0.13.0")
    spec = obj["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{plan.models[0].name}-predictor"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (0, 4)
    main, wake = spec["triggers"]
    assert main["type"] == "prometheus" and main["metadata"]["threshold"] == "5"
    assert main["metadata"]["serverAddress"] == "http://prometheus-operated.monitoring.svc:9090"
    assert main["metadata"]["query"] == vllm_query(plan.models[0], "waiting")
    assert "metricType" not in main  # AverageValue: waiting requests per replica
    assert wake["metadata"] == {"serverAddress": "http://prometheus-operated.monitoring.svc:9090", "query": WAKE,
                                "threshold": "1", "activationThreshold": "0"}


def test_keda_ttft_compares_the_latency_itself():
    plan = make_plan("gaudi", "v0.14.1", autoscaling={"enabled": True, "engine": "keda", "metric": "ttft", "target": 1500,
                                                      "keda": {"prometheusAddress": "http://prom.obs.svc:9090"}})
    obj = valid(scaled_object(plan, plan.models[0]), "v0.20.0")
    (trigger,) = obj["spec"]["triggers"]
    assert trigger["metricType"] == "Value" and trigger["metadata"]["threshold"] == "1500"
    assert trigger["metadata"]["serverAddress"] == "http://prom.obs.svc:9090"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_keda_from_v015_is_kserves_own_autoscaling_block(platform):
    plan = make_plan(platform, "v0.20.0", **KEDA_ZERO)
    isvc = valid(isvc_of(plan), "v0.20.0")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    predictor = isvc["spec"]["predictor"]
    assert "scaleMetric" not in predictor  # KServe refuses scaleMetric with KEDA
    main, wake = predictor["autoScaling"]["metrics"]
    assert main == {"type": "External", "external": {
        "metric": {"backend": "prometheus", "serverAddress": "http://prometheus-operated.monitoring.svc:9090",
                   "query": vllm_query(plan.models[0], "waiting")},
        "target": {"type": "Value", "value": "5"}}}
    assert wake["external"]["metric"]["query"] == WAKE
    assert scaled_object(plan, plan.models[0]) is None  # KServe creates it


def test_keda_ttft_through_kserve_multiplies_by_the_replica_count():
    plan = make_plan("gaudi", "v0.15.2", autoscaling={"enabled": True, "engine": "keda", "metric": "ttft"})
    (metric,) = isvc_of(plan)["spec"]["predictor"]["autoScaling"]["metrics"]
    assert metric["external"]["metric"]["query"].endswith("* count(vllm:num_requests_waiting{" + pod_selector(plan.models[0]) + "})")
    assert metric["external"]["target"]["value"] == "2000"


def test_keda_is_installed_before_kserve_and_scaled_objects_follow_their_model():
    evaluation = run_stack("gaudi", hfToken=TOKEN, **KEDA)
    releases = {r.inputs["name"]: r for r in evaluation.of_type(RELEASE)}
    keda = releases["keda"]
    assert keda.inputs["chart"] == "keda" and keda.inputs["version"] == "2.14.0"
    assert keda.inputs["repositoryOpts"] == {"repo": "https://kedacore.github.io/charts"}
    assert keda.urn in releases["kserve"].dependencies
    objects = evaluation.of_type(SCALED_OBJECT)
    assert len(objects) == len(evaluation.of_type(ISVC)) == 2
    for obj in objects:
        isvc = next(i for i in evaluation.of_type(ISVC) if i.parent == obj.parent)
        assert isvc.urn in obj.dependencies
        assert keda.urn in obj.dependencies
    assert keda_release(make_plan("gaudi", "v0.20.0", autoscaling={**KEDA["autoscaling"], "keda": {"version": "2.17.2"}})).version == "2.17.2"
    existing = run_stack("gaudi", hfToken=TOKEN, autoscaling={**KEDA["autoscaling"], "keda": {"install": False}})
    assert "keda" not in {r.inputs["name"] for r in existing.of_type(RELEASE)}
    assert len(existing.of_type(SCALED_OBJECT)) == 2


def test_per_model_scaling_overrides_the_stack():
    plan = make_plan("gaudi", "v0.20.0", models=[MODEL["gaudi"], {"id": "Qwen/Qwen2.5-14B-Instruct", "autoscaling": {"minReplicas": 0, "target": 2}}],
                     **KEDA_ZERO)
    first, second = (m.scaling for m in plan.models)
    assert (first.min_replicas, first.max_replicas, first.target) == (0, 4, 5)
    assert (second.min_replicas, second.max_replicas, second.target) == (0, 4, 2)


def test_hpa_on_memory_stays_as_before():
    plan = make_plan("gaudi", "v0.20.0", autoscaling={"enabled": True, "metric": "memory", "maxReplicas": 3})
    predictor = valid(isvc_of(plan), "v0.20.0")["spec"]["predictor"]
    assert (predictor["scaleMetric"], predictor["scaleTarget"], predictor["maxReplicas"]) == ("memory", 80, 3)


# --- canary, revision --------------------------------------------------------------------

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_revision_pins_weights_and_tokenizer():
    plan = make_plan("gaudi", models=[{"id": "Qwen/Qwen2.5-7B-Instruct", "revision": COMMIT}])
    isvc = valid(isvc_of(plan), "v0.13.0")
    args = isvc["spec"]["predictor"]["model"]["args"]
    assert args[args.index("--revision") + 1] == COMMIT
    assert args[args.index("--tokenizer-revision") + 1] == COMMIT
    assert isvc["metadata"]["annotations"]["kserve-intel/model-revision"] == COMMIT


@pytest.mark.parametrize("platform", PLATFORMS)
def test_standard_v020_canary_runs_a_second_predictor_beside_the_stable_one(platform):
    canary = {"trafficPercent": 10, "revision": COMMIT, "image": "registry.local/vllm:2", "env": {"VLLM_LOGGING_LEVEL": "DEBUG"}}
    plan = make_plan(platform, "v0.20.0", models=[{"id": MODEL[platform], "revision": "v1", "canary": canary}])
    isvc = valid(isvc_of(plan), "v0.20.0")
    stable = isvc["spec"]["predictor"]
    assert "canaryTrafficPercent" not in stable
    assert stable["model"]["args"][stable["model"]["args"].index("--revision") + 1] == "v1"
    assert "image" not in stable["model"]
    (entry,) = isvc["spec"]["canary"]
    assert entry["trafficPercent"] == 10
    variant = entry["predictor"]
    assert variant["name"] == "canary"
    assert variant["model"]["image"] == "registry.local/vllm:2"
    assert variant["model"]["args"][variant["model"]["args"].index("--revision") + 1] == COMMIT
    env = {e["name"]: e for e in variant["model"]["env"]}
    assert env["VLLM_LOGGING_LEVEL"]["value"] == "DEBUG"
    assert env["HF_TOKEN"] == {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}}
    assert variant["minReplicas"] == 1 and "maxReplicas" not in variant
    assert variant["volumes"] == stable["volumes"]
    assert isvc["metadata"]["annotations"]["kserve-intel/canary-revision"] == COMMIT


def test_a_canary_beside_a_keda_scaled_model_is_refused_before_any_resource():
    # KServe v0.20 refuses autoscaling on a canary, then builds it a ScaledObject without triggers (e2e).
    canary = {"trafficPercent": 10, "extraArgs": ["--max-num-seqs", "64"]}
    with pytest.raises(ConfigError) as caught:
        make_plan("gaudi3", "v0.20.0", models=[{"id": MODEL["gaudi3"], "canary": canary}],
                  autoscaling={"enabled": True, "engine": "keda", "keda": {"install": False}})
    (issue,) = caught.value.issues
    assert issue.path == "models[0].canary"
    assert "cannot run a canary beside a KEDA-scaled model" in issue.message
    assert "use autoscaling.engine hpa for this stack" in issue.message
    # The HPA engine keeps working with a canary (fixed replica, no scaling fields).
    plan = make_plan("gaudi3", "v0.20.0", models=[{"id": MODEL["gaudi3"], "canary": canary}],
                     autoscaling={"enabled": True, "engine": "hpa"})
    variant = valid(isvc_of(plan), "v0.20.0")["spec"]["canary"][0]["predictor"]
    assert variant["minReplicas"] == 1 and "autoScaling" not in variant and "maxReplicas" not in variant


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_serverless_canary_is_canary_traffic_percent_on_the_new_spec(version):
    models = [{"id": "Qwen/Qwen2.5-7B-Instruct", "extraArgs": ["--max-num-seqs", "64"],
               "canary": {"trafficPercent": 25, "extraArgs": ["--max-num-seqs", "128"]}}]
    plan = make_plan("gaudi", version, models=models, **SERVERLESS)
    predictor = valid(isvc_of(plan), version)["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 25
    assert predictor["model"]["args"][-2:] == ["--max-num-seqs", "128"]
    assert "canary" not in isvc_of(plan)["spec"]


def test_serverless_rollback_puts_the_stable_spec_back_with_zero_percent():
    models = [{"id": "Qwen/Qwen2.5-7B-Instruct", "canary": {"trafficPercent": 0, "image": "opea/vllm-gaudi:1.23.0"}}]
    plan = make_plan("gaudi", "v0.20.0", models=models, **SERVERLESS)
    predictor = valid(isvc_of(plan), "v0.20.0")["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 0
    assert "image" not in predictor["model"]
    # Promotion is the canary's settings in the model and no canary block: the same spec, 100%.
    promoted = make_plan("gaudi", "v0.20.0", models=[{"id": "Qwen/Qwen2.5-7B-Instruct"}], **SERVERLESS)
    canary_full = make_plan("gaudi", "v0.20.0", models=[{"id": "Qwen/Qwen2.5-7B-Instruct", "canary": {"trafficPercent": 100, "extraArgs": ["--max-num-seqs", "8"]}}], **SERVERLESS)
    promoted2 = make_plan("gaudi", "v0.20.0", models=[{"id": "Qwen/Qwen2.5-7B-Instruct", "extraArgs": ["--max-num-seqs", "8"]}], **SERVERLESS)
    during, after = isvc_of(canary_full)["spec"]["predictor"], isvc_of(promoted2)["spec"]["predictor"]
    during.pop("canaryTrafficPercent")
    assert during == after  # no new revision when the canary is promoted
    assert isvc_of(promoted)["spec"]["predictor"] != after


# --- multi-node -----------------------------------------------------------------------------

MULTINODE = {"autoscaling": {"enabled": False}, "storage": {"accessMode": "ReadWriteMany"},
             "models": [{"id": "meta-llama/Llama-3.1-405B-Instruct", "revision": COMMIT}]}


def test_catalogue_puts_llama_405b_on_two_gaudi2_nodes_and_one_gaudi3_node():
    gaudi = make_plan("gaudi", "v0.15.2", **MULTINODE).models[0]
    assert (gaudi.nodes, gaudi.tensor_parallel_size, gaudi.pipeline_parallel_size, gaudi.accelerators) == (2, 8, 2, 8)
    gaudi3 = make_plan("gaudi3", "v0.20.0", **MULTINODE).models[0]
    assert (gaudi3.nodes, gaudi3.tensor_parallel_size, gaudi3.accelerators) == (1, 8, 8)


@pytest.mark.parametrize("version", ["v0.15.0", "v0.15.2"])
def test_multinode_isvc_has_a_worker_spec_and_reads_weights_from_the_claim(version):
    plan = make_plan("gaudi", version, **MULTINODE)
    isvc = valid(isvc_of(plan), version)
    predictor = isvc["spec"]["predictor"]
    model = predictor["model"]
    assert model["runtime"] == "intel-vllm-gaudi-multinode"
    assert model["modelFormat"] == {"name": "vllm-intel-gaudi-multinode"}
    assert model["storageUri"] == "pvc://llama-3-1-405b-instruct-cache/models/llama-3-1-405b-instruct"
    assert model["args"][:1] == ["/mnt/models"]  # `vllm serve <model>`
    assert "--revision" not in model["args"]  # the Job downloaded that revision
    assert model["args"][model["args"].index("--tensor-parallel-size") + 1] == "8"
    assert model["args"][model["args"].index("--pipeline-parallel-size") + 1] == "2"
    assert model["resources"]["limits"]["habana.ai/gaudi"] == "8"
    worker = predictor["workerSpec"]
    assert (worker["pipelineParallelSize"], worker["tensorParallelSize"]) == (2, 8)
    assert worker["containers"][0]["resources"]["limits"]["habana.ai/gaudi"] == "8"
    assert worker["runtimeClassName"] == "habana"
    # KServe's validator: `external` on v0.15.0, `none` from v0.15.1 (which added it).
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == \
        {"v0.15.0": "external", "v0.15.2": "none"}[version]
    assert json.loads(isvc["metadata"]["annotations"]["serving.kserve.io/gpu-resource-types"]) == ["habana.ai/gaudi"]
    runtime = valid(multinode.cluster_serving_runtime(plan), version)
    head = runtime["spec"]["containers"][0]
    assert head["command"] == ["bash", "-c"] and head["args"][1] == "vllm"
    assert "ray start --head" in head["args"][0] and "--distributed-executor-backend ray" in head["args"][0]
    assert "ray start --address" in runtime["spec"]["workerSpec"]["containers"][0]["args"][0]
    job = valid(multinode.prefetch_job(plan, plan.models[0], with_token=True), version)
    env = {e["name"]: e.get("value") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["MODEL_REVISION"] == COMMIT and env["TARGET_DIR"] == "/data/models/llama-3-1-405b-instruct"


def test_multinode_program_downloads_weights_before_the_model():
    evaluation = run_stack("gaudi", hfToken=TOKEN, kserve={"version": "v0.15.2"}, **MULTINODE)
    (job,) = evaluation.of_type(JOB)
    (isvc,) = evaluation.of_type(ISVC)
    assert job.urn in isvc.dependencies
    runtimes = {r.inputs["metadata"]["name"]: r for r in evaluation.of_type(CSR)}
    # Only what a model uses: the one multi-node model needs the multi-node runtime alone.
    assert set(runtimes) == {"intel-vllm-gaudi-multinode"}
    assert evaluation.outputs["runtime"] == "intel-vllm-gaudi-multinode"
    assert runtimes["intel-vllm-gaudi-multinode"].urn in isvc.dependencies
    assert job.inputs["metadata"]["annotations"]["pulumi.com/waitFor"] == "condition=Complete"


# --- bad combinations ------------------------------------------------------------------

BAD = [
    ({"kserve": {"knative": "install"}}, ["kserve-intel:kserve.knative", "no effect unless kserve.deploymentMode is Serverless"]),
    ({"kserve": {"networking": "istio"}}, ["kserve-intel:kserve.networking", "no effect unless"]),
    ({"kserve": {"deploymentMode": "Serverless", "knative": "existing", "networking": "istio"}}, ["kserve.networking", "'existing'"]),
    ({"kserve": {"deploymentMode": "Serverless", "networking": "contour"}}, ["kserve-intel:kserve.networking", "'kourier' or 'istio'"]),
    ({"autoscaling": {"enabled": True, "minReplicas": 0}}, ["autoscaling.minReplicas = 0", "scale to zero is not possible with the HPA"]),
    ({"autoscaling": {"enabled": True, "engine": "keda", "minReplicas": 0}}, ["kserve-intel:autoscaling.keda.wakeQuery: is required", "vLLM's metrics disappear"]),
    ({"autoscaling": {"enabled": True, "engine": "keda", "metric": "cpu"}}, ["kserve-intel:autoscaling.metric = \"cpu\"", "KEDA scales on vLLM's: waiting, ttft"]),
    ({"autoscaling": {"enabled": True, "engine": "knative"}}, ["kserve-intel:autoscaling.engine = \"knative\"", "needs kserve.deploymentMode Serverless"]),
    ({"kserve": {"deploymentMode": "Serverless"}, "autoscaling": {"enabled": True, "engine": "keda"}}, ["autoscaling.engine = \"keda\"", "allowed: knative"]),
    ({"kserve": {"deploymentMode": "Serverless"}, "autoscaling": {"enabled": True, "metric": "cpu"}}, ["autoscaling.metric", "Knative scales on: concurrency, rps"]),
    ({"autoscaling": {"enabled": True, "metric": "concurrency"}}, ["autoscaling.metric", "RawDeployment scales with an HPA on: cpu, memory"]),
    ({"autoscaling": {"enabled": True, "target": 150}}, ["autoscaling.target = 150", "percentage"]),
    ({"autoscaling": {"enabled": True, "keda": {"wakeQuery": "x"}}}, ["kserve-intel:autoscaling.keda", "no effect unless autoscaling.engine is keda"]),
    ({"autoscaling": {"engine": "keda"}}, ["autoscaling.engine", "no effect unless autoscaling.enabled"]),
    ({"autoscaling": {"enabled": True, "engine": "keda", "keda": {"prometheusAddress": "prometheus:9090"}}}, ["autoscaling.keda.prometheusAddress", "http(s) URL"]),
    ({"autoscaling": {"enabled": True, "engine": "keda", "keda": {"install": False, "version": "2.18.0"}}}, ["autoscaling.keda.version", "install is false"]),
    ({"models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "autoscaling": {"minReplicas": 2}}]}, ["models[0].autoscaling", "no effect unless autoscaling.enabled"]),
    ({"autoscaling": {"enabled": True, "maxReplicas": 2}, "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "autoscaling": {"minReplicas": 3}}]},
     ["models[0].autoscaling.minReplicas = 3", "must not exceed models[0].autoscaling.maxReplicas (2)"]),
    ({"models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "revision": "main..x"}]}, ["models[0].revision", "40 lowercase hex"]),
    ({"models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "extraArgs": ["--revision=abc"]}]}, ["models[0].extraArgs", "use revision instead"]),
    ({"models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "canary": {"trafficPercent": 10, "image": "a/b:1"}}]},
     ["models[0].canary", "RawDeployment mode has no canary before KServe v0.20", "Serverless"]),
    ({"kserve": {"version": "v0.19.0"}, "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "canary": {"trafficPercent": 10, "image": "a/b:1"}}]},
     ["models[0].canary", "Standard mode has no canary before KServe v0.20"]),
    ({"kserve": {"version": "v0.20.0"}, "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "canary": {"trafficPercent": 10}}]},
     ["models[0].canary", "changes nothing"]),
    ({"kserve": {"version": "v0.20.0"}, "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "canary": {"trafficPercent": 120, "image": "a/b:1"}}]},
     ["models[0].canary.trafficPercent = 120", "less than or equal to 100"]),
    ({"kserve": {"deploymentMode": "Serverless"}, "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "canary": {"trafficPercent": 5, "name": "v2", "image": "a/b:1"}}]},
     ["models[0].canary.name", "no effect in Serverless"]),
    ({"kserve": {"version": "v0.20.0"}, "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "name": "q" * 30, "canary": {"trafficPercent": 5, "name": "c" * 30, "image": "a/b:1"}}]},
     ["models[0].canary.name", "at most 63"]),
    ({"kserve": {"version": "v0.20.0"}, "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "canary": {"trafficPercent": 5, "extraArgs": ["--model", "x"]}}]},
     ["models[0].canary.extraArgs", "set by the program"]),
    ({"storage": {"accessMode": "ReadWriteMany"}, "models": ["meta-llama/Llama-3.1-405B-Instruct"]},
     ["models[0].nodes = 2", "needs KServe v0.15 or later", "kserve.version v0.15.2"]),
    ({"kserve": {"version": "v0.14.1"}, "storage": {"accessMode": "ReadWriteMany"}, "models": ["meta-llama/Llama-3.1-405B-Instruct"]},
     ["models[0].nodes = 2", "v0.14 accepts the field but its controller creates no workers"]),
    ({"kserve": {"version": "v0.20.0"}, "storage": {"accessMode": "ReadWriteMany"}, "models": ["meta-llama/Llama-3.1-405B-Instruct"]},
     ["models[0].nodes = 2", "KServe v0.20.0 cannot run a multi-node model", "reconcileCanaryDeployments",
      "<model>-predictor-worker", "Use kserve.version v0.15.2"]),
    ({"kserve": {"version": "v0.19.0"}, "storage": {"accessMode": "ReadWriteMany"}, "models": ["meta-llama/Llama-3.1-405B-Instruct"]},
     ["models[0].nodes = 2", "KServe v0.19.0 cannot run a multi-node model", "never turns Ready", "kserve#5703"]),
    ({"kserve": {"version": "v0.15.2"}, "models": ["meta-llama/Llama-3.1-405B-Instruct"]},
     ["storage.accessMode = \"ReadWriteOnce\"", "spans 2 nodes", "ReadWriteMany"]),
    ({"kserve": {"version": "v0.15.2", "deploymentMode": "Knative"}, "storage": {"accessMode": "ReadWriteMany"}, "models": ["meta-llama/Llama-3.1-405B-Instruct"]},
     ["models[0].nodes", "RawDeployment/Standard mode only"]),
    ({"kserve": {"version": "v0.15.2"}, "autoscaling": {"enabled": True}, "storage": {"accessMode": "ReadWriteMany"}, "models": ["meta-llama/Llama-3.1-405B-Instruct"]},
     ["models[0].nodes", "fixed single replica"]),
    ({"kserve": {"version": "v0.20.0"}, "storage": {"accessMode": "ReadWriteMany"},
      "models": [{"id": "meta-llama/Llama-3.1-405B-Instruct", "canary": {"trafficPercent": 5, "image": "a/b:1"}}]},
     ["models[0].canary", "multi-node model"]),
    ({"kserve": {"version": "v0.15.2"}, "storage": {"accessMode": "ReadWriteMany"},
      "models": [{"id": "meta-llama/Llama-3.1-405B-Instruct", "pipelineParallelSize": 4}]},
     ["models[0].pipelineParallelSize = 4", "number of nodes"]),
]


@pytest.mark.parametrize("values,fragments", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_combinations_are_refused_with_a_clear_message(values, fragments):
    config = {"platform": "gaudi", "hfToken": "hf_x", "models": [MODEL["gaudi"]], **values}
    with pytest.raises(ConfigError) as caught:
        build_plan(load_config(raw_config(**config), ["kserve-intel:hfToken"]))
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message


def test_every_release_with_worker_spec_is_classified_for_multinode():
    """A new tag must be read before multi-node is allowed on it (catalog/kserve.py `multinode_broken`)."""
    usable = [t for t in SUPPORTED_TAGS if KServeRelease(t).supports_worker_spec and not KServeRelease(t).multinode_broken]
    assert usable == ["v0.15.0", "v0.15.1", "v0.15.2"]
    assert "kserve#5703" in KServeRelease("v0.19.0").multinode_broken
    assert "reconcileCanaryDeployments" in KServeRelease("v0.20.0").multinode_broken
    assert not KServeRelease("v0.14.1").supports_worker_spec


def test_the_worker_joins_the_head_service_kserve_names_in_head_svc():
    """KServe's head Service is `<isvc>-head-<generation>`, passed to the worker as HEAD_SVC (there is no
    `<isvc>-head` Service in any release), as in KServe's own multi-node runtime."""
    plan = make_plan("gaudi", "v0.15.2", **MULTINODE)
    script = multinode.cluster_serving_runtime(plan)["spec"]["workerSpec"]["containers"][0]["args"][0]
    assert 'HEAD="${HEAD_SVC}.${POD_NAMESPACE}.svc.cluster.local:6379"' in script
    assert "ISVC_NAME" not in script


def test_multinode_on_xeon_is_refused():
    with pytest.raises(ConfigError) as caught:
        make_plan("xeon", "v0.20.0", models=[{"id": "Qwen/Qwen3-4B-Instruct-2507", "nodes": 2}],
                  storage={"accessMode": "ReadWriteMany"})
    assert "for accelerator nodes" in str(caught.value)


def test_every_supported_version_renders_valid_serverless_and_keda_objects():
    for tag in SUPPORTED_TAGS:
        schemas = KServeRelease(tag).schema_tag
        plan = make_plan("gaudi", tag, **SERVERLESS)
        valid(isvc_of(plan), schemas)
        plan = make_plan("gaudi", tag, **KEDA_ZERO)
        valid(isvc_of(plan), schemas)
        obj = scaled_object(plan, plan.models[0])
        if obj is not None:
            valid(obj, schemas)
        assert kserve_builders.controller_release(plan).values["kserve"]["controller"]["deploymentMode"] == plan.release.raw_mode
