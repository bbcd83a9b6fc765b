"""Issue 22, classes 5 and 6: downloads that cannot happen, clocks that disagree.

Class 5: every downloader (vLLM, the multi-node weights Job, the local-cache download jobs, KServe's storage
initializer) uses hfEndpoint and its token; the network policy opens every endpoint the stack configures on its
own address and port, or the config is refused naming the key.

Class 6: the weights Job deadline, the startup probe window, the readiness wait and the Serverless progress
deadline all come from `plan.model_clock` (readyTimeoutMinutes, never less than the platform's startup
window), so raising readyTimeoutMinutes lengthens every one. Each case runs the real program under the mocks
and reads what it registered (inputs and customTimeouts).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from offline.engine import Evaluation, evaluate, redact, stack_config
from offline.validation import validate_objects
from tests.conftest import TOKEN, run_stack

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
JOB = "kubernetes:batch/v1:Job"
KNATIVE_SERVING = "kubernetes:operator.knative.dev/v1beta1:KnativeServing"
COMMIT = "a09a35458c702b33eeacc393d103063234e8bc28"
# Multi-node runs on KServe v0.15.x only (catalog/kserve.py `multinode_broken`, issue 21).
MULTINODE = {"kserve": {"version": "v0.15.2"}, "autoscaling": {"enabled": False},
             "storage": {"size": "1Ti", "accessMode": "ReadWriteMany"}}
LLAMA_405B = "meta-llama/Llama-3.1-405B-Instruct"


def _probe_minutes(probe: dict[str, Any]) -> float:
    return probe["periodSeconds"] * probe["failureThreshold"] / 60


def clocks(evaluation: Evaluation) -> dict[str, dict[str, Any]]:
    """Per model: every wait and deadline the program registered for it."""
    out: dict[str, dict[str, Any]] = {}
    jobs = {r.inputs["metadata"]["name"]: r for r in evaluation.of_type(JOB)}
    for isvc in evaluation.of_type(ISVC):
        name = isvc.inputs["metadata"]["name"]
        annotations = isvc.inputs["metadata"]["annotations"]
        predictors = [isvc.inputs["spec"]["predictor"],
                      *(c["predictor"] for c in isvc.inputs["spec"].get("canary", []))]
        probes = {_probe_minutes(p["model"]["startupProbe"]) for p in predictors}
        assert len(probes) == 1, f"{name}: the canary's probe differs from the predictor's"
        entry = {
            "ready": int(annotations["pulumi.com/timeoutSeconds"]) / 60,
            "ready_custom": isvc.custom_timeouts["create"],
            "probe": probes.pop(),
            "progress": annotations.get("serving.knative.dev/progress-deadline"),
        }
        job = jobs.get(f"{name}-weights")
        if job is not None:
            entry["job_deadline"] = job.inputs["spec"]["activeDeadlineSeconds"] / 60
            entry["job_await"] = int(job.inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) / 60
            assert job.custom_timeouts["create"] == f"{int(entry['job_await'])}m"
        assert entry["ready_custom"] == f"{int(entry['ready'])}m"
        out[name] = entry
    return out


def runtime_probe_minutes(evaluation: Evaluation) -> dict[str, float]:
    return {r.inputs["metadata"]["name"]: _probe_minutes(r.inputs["spec"]["containers"][0]["startupProbe"])
            for r in evaluation.of_type(CSR)}


# (case, stack, overrides, model name -> expected {ready, probe, job_deadline?, progress?})
CLOCK_CASES = [
    # The issue's example: the weights Job and the startup probe were fixed at 90 minutes (Gaudi's window).
    ("multinode default", "gaudi", {**MULTINODE, "models": [{"id": LLAMA_405B, "revision": COMMIT}]},
     {"llama-3-1-405b-instruct": {"ready": 120, "probe": 120, "job_deadline": 120, "job_await": 122}}),
    ("multinode raised", "gaudi", {**MULTINODE, "models": [{"id": LLAMA_405B, "revision": COMMIT,
                                                            "readyTimeoutMinutes": 300}]},
     {"llama-3-1-405b-instruct": {"ready": 300, "probe": 300, "job_deadline": 300, "job_await": 302}}),
    ("stack-wide raised", "gaudi", {**MULTINODE, "readyTimeoutMinutes": 240,
                                    "models": [{"id": LLAMA_405B, "revision": COMMIT}, "Qwen/Qwen2.5-7B-Instruct"]},
     {"llama-3-1-405b-instruct": {"ready": 240, "probe": 240, "job_deadline": 240},
      "qwen2-5-7b-instruct": {"ready": 240, "probe": 240}}),
    ("xeon default", "xeon", {}, {"qwen3-4b-instruct-2507": {"ready": 90, "probe": 90},
                                  "r1-llama-8b": {"ready": 90, "probe": 90}}),
    # Below the platform's startup window: `up` stops waiting sooner, the pod still gets its 60 minutes.
    ("xeon lowered", "xeon", {"models": [{"id": "Qwen/Qwen3-1.7B", "readyTimeoutMinutes": 20}]},
     {"qwen3-1-7b": {"ready": 20, "probe": 60}}),
    ("two models, two clocks", "xeon", {"models": [{"id": "Qwen/Qwen3-1.7B", "readyTimeoutMinutes": 500},
                                                   "Qwen/Qwen3-4B-Instruct-2507"]},
     {"qwen3-1-7b": {"ready": 500, "probe": 500}, "qwen3-4b-instruct-2507": {"ready": 90, "probe": 90}}),
    ("serverless", "gaudi3", {"kserve": {"version": "v0.20.0", "deploymentMode": "Serverless"},
                              "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "readyTimeoutMinutes": 400},
                                         {"id": "Qwen/Qwen3-4B-Instruct-2507", "readyTimeoutMinutes": 10}]},
     {"qwen2-5-7b-instruct": {"ready": 400, "probe": 400, "progress": "400m"},
      "qwen3-4b-instruct-2507": {"ready": 10, "probe": 90, "progress": "90m"}}),
    ("canary", "gaudi3", {"kserve": {"version": "v0.20.0", "deploymentMode": "Standard"},
                          "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "readyTimeoutMinutes": 333,
                                      "canary": {"trafficPercent": 10, "image": "opea/vllm-gaudi:1.23.0"}}]},
     {"qwen2-5-7b-instruct": {"ready": 333, "probe": 333}}),
]


@pytest.mark.parametrize("case,stack,overrides,expected", CLOCK_CASES, ids=[c[0] for c in CLOCK_CASES])
def test_every_wait_of_a_model_follows_its_ready_timeout(case, stack, overrides, expected):
    evaluation = run_stack(stack, hfToken=TOKEN, **overrides)
    got = clocks(evaluation)
    for name, values in expected.items():
        for key, value in values.items():
            assert got[name][key] == value, f"{case}: {name} {key}"


def test_the_shared_runtime_keeps_the_stack_wide_window_and_each_model_overrides_it():
    evaluation = run_stack("xeon", hfToken=TOKEN, models=[{"id": "Qwen/Qwen3-1.7B", "readyTimeoutMinutes": 500},
                                                          "Qwen/Qwen3-4B-Instruct-2507"])
    # One ClusterServingRuntime serves both models: its own probe is the stack default (90 minutes on Xeon)...
    assert runtime_probe_minutes(evaluation) == {"intel-vllm-xeon": 90}
    # ...and a model's InferenceService carries a full probe of its own that KServe merges over it.
    (isvc,) = [r for r in evaluation.of_type(ISVC) if r.inputs["metadata"]["name"] == "qwen3-1-7b"]
    probe = isvc.inputs["spec"]["predictor"]["model"]["startupProbe"]
    assert probe == {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 30, "timeoutSeconds": 5,
                     "failureThreshold": 1000}


def test_the_knative_progress_deadline_is_the_longest_model_window():
    evaluation = run_stack("gaudi3", hfToken=TOKEN, kserve={"version": "v0.20.0", "deploymentMode": "Serverless"},
                           models=[{"id": "Qwen/Qwen2.5-7B-Instruct", "readyTimeoutMinutes": 400},
                                   "Qwen/Qwen3-4B-Instruct-2507"])
    (serving,) = evaluation.of_type(KNATIVE_SERVING)
    assert serving.inputs["spec"]["config"]["deployment"]["progress-deadline"] == "400m"


def test_a_custom_runtime_probe_follows_its_own_health_path_and_port():
    custom = {"name": "llamacpp", "image": "ghcr.io/ggml-org/llama.cpp:server-b6000", "platforms": ["xeon"],
              "args": ["--port", "8081", "-hf", "$(MODEL_ID)"], "port": 8081, "healthPath": "/healthz"}
    evaluation = run_stack("xeon", hfToken=TOKEN, runtimes={"custom": [custom]},
                           models=[{"id": "Qwen/Qwen3-1.7B", "backend": "llamacpp", "readyTimeoutMinutes": 45}])
    (isvc,) = evaluation.of_type(ISVC)
    probe = isvc.inputs["spec"]["predictor"]["model"]["startupProbe"]
    assert probe["httpGet"] == {"path": "/healthz", "port": 8081}
    assert _probe_minutes(probe) == 60  # 45 is below Xeon's 60-minute window


@pytest.mark.parametrize("ready", [1, 59, 60, 89, 90, 91, 301, 1340])
def test_raising_ready_never_shortens_any_deadline(ready):
    evaluation = run_stack("gaudi", hfToken=TOKEN, **MULTINODE,
                           models=[{"id": LLAMA_405B, "revision": COMMIT, "readyTimeoutMinutes": ready}])
    (got,) = clocks(evaluation).values()
    assert got["ready"] == ready
    assert got["probe"] == got["job_deadline"] == max(ready, 90)
    assert got["job_await"] > got["job_deadline"]
    bigger = clocks(run_stack("gaudi", hfToken=TOKEN, **MULTINODE,
                              models=[{"id": LLAMA_405B, "revision": COMMIT, "readyTimeoutMinutes": ready + 100}]))
    (more,) = bigger.values()
    assert all(more[k] > got[k] for k in ("ready", "probe", "job_deadline", "job_await"))


# --- class 5: every downloader uses hfEndpoint and its credentials ---------------------------------------------

CSC = "kubernetes:serving.kserve.io/v1alpha1:ClusterStorageContainer"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
MIRROR = "http://10.20.0.5:8080"
TOKEN_ENV = {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _one(evaluation: Evaluation, type_: str, name: str) -> dict[str, Any]:
    (found,) = [r.inputs for r in evaluation.of_type(type_) if r.inputs["metadata"]["name"] == name]
    return found


def test_the_multinode_weights_job_downloads_from_the_mirror_with_the_token():
    """The issue's example: the weights Job went to the public hub."""
    evaluation = run_stack("gaudi", hfToken=TOKEN, hfEndpoint=MIRROR, **MULTINODE,
                           models=[{"id": LLAMA_405B, "revision": COMMIT}])
    job = _one(evaluation, JOB, "llama-3-1-405b-instruct-weights")
    env = _env(job["spec"]["template"]["spec"]["containers"][0])
    assert env["HF_ENDPOINT"] == MIRROR
    assert env["HF_TOKEN"] == TOKEN_ENV["valueFrom"]
    assert env["MODEL_REVISION"] == COMMIT
    # Without a mirror the public hub's default stays implicit.
    public = run_stack("gaudi", hfToken=TOKEN, **MULTINODE, models=[{"id": LLAMA_405B, "revision": COMMIT}])
    job = _one(public, JOB, "llama-3-1-405b-instruct-weights")
    assert "HF_ENDPOINT" not in _env(job["spec"]["template"]["spec"]["containers"][0])


@pytest.mark.parametrize("version", ["v0.15.2", "v0.20.0"])
@pytest.mark.parametrize("token", [True, False])
def test_the_local_model_cache_download_jobs_use_the_mirror(version, token):
    """KServe's localmodelnode controller runs our ClusterStorageContainer's container as is, env included."""
    values = dict(hfEndpoint=MIRROR, kserve={"version": version}, localModelCache={"enabled": True},
                  models=[{"id": "Qwen/Qwen2.5-7B-Instruct", "localCache": {"size": "30Gi"}, "gated": False}])
    evaluation = run_stack("gaudi", **({"hfToken": TOKEN} if token else {}), **values)
    container = _one(evaluation, CSC, "kserve-intel-hf-download")["spec"]["container"]
    env = _env(container)
    assert env["HF_ENDPOINT"] == MIRROR
    assert ("HF_TOKEN" in env) is token


MIRROR_ADAPTERS = [{"name": "sql", "id": "example-org/qwen3-sql-lora", "revision": "v1", "gated": True},
                   {"name": "chat", "id": "example-org/qwen3-chat-lora"}]


def test_v0_20_gives_the_storage_initializer_the_mirror_through_a_named_storage_container():
    evaluation = run_stack("xeon", hfToken=TOKEN, hfEndpoint=MIRROR, kserve={"version": "v0.20.0"},
                           models=[{"id": "Qwen/Qwen3-1.7B", "adapters": MIRROR_ADAPTERS}])
    name = "kserve-intel-hf-mirror-intel-inference"
    csc = _one(evaluation, CSC, name)
    assert _env(csc["spec"]["container"])["HF_ENDPOINT"] == MIRROR
    assert csc["spec"]["workloadType"] == "initContainer" and csc["spec"]["supportsMultiModelDownload"] is True
    (fmt,) = csc["spec"]["supportedUriFormats"]
    pattern = re.compile(fmt["regex"])
    assert pattern.match("hf://example-org/qwen3-sql-lora:v1") and pattern.match("hf://example-org/qwen3-chat-lora")
    # Another tenant's hf:// download never matches it by URI.
    assert not pattern.match("hf://example-org/qwen3-sql-lora") and not pattern.match("hf://other/model")
    predictor = _one(evaluation, ISVC, "qwen3-1-7b")["spec"]["predictor"]
    assert predictor["storageContainerName"] == name
    assert predictor["storageUris"][0] == {"uri": "hf://example-org/qwen3-sql-lora:v1", "mountPath": "/mnt/lora/0-sql"}
    assert validate_objects([redact(o) for o in evaluation.objects()], "v0.20.0") == []


def test_before_v0_20_vllm_downloads_hub_adapters_from_the_mirror_and_no_container_is_added():
    adapters = [{k: v for k, v in a.items() if k != "revision"} for a in MIRROR_ADAPTERS]
    evaluation = run_stack("xeon", hfToken=TOKEN, hfEndpoint=MIRROR, kserve={"version": "v0.19.0"},
                           models=[{"id": "Qwen/Qwen3-1.7B", "adapters": adapters}])
    assert not evaluation.of_type(CSC)
    predictor = _one(evaluation, ISVC, "qwen3-1-7b")["spec"]["predictor"]
    assert "storageUris" not in predictor and "storageContainerName" not in predictor
    assert _env(predictor["model"])["HF_ENDPOINT"] == MIRROR


def test_a_canary_keeps_the_mirror():
    evaluation = run_stack("gaudi3", hfToken=TOKEN, hfEndpoint=MIRROR,
                           kserve={"version": "v0.20.0", "deploymentMode": "Standard"},
                           models=[{"id": "Qwen/Qwen2.5-7B-Instruct",
                                    "canary": {"trafficPercent": 10, "env": {"VLLM_LOGGING_LEVEL": "DEBUG"}}}])
    spec = _one(evaluation, ISVC, "qwen2-5-7b-instruct")["spec"]
    canary_env = _env(spec["canary"][0]["predictor"]["model"])
    assert canary_env["HF_ENDPOINT"] == MIRROR and "HF_TOKEN" in canary_env


# --- class 5: the network policy opens every endpoint the stack configures, or the config is refused ---------

S3_KEYS = {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "secret-example"}


def _registry_model(uri: str) -> dict[str, Any]:
    return {"id": "Qwen/Qwen3-1.7B", "source": {"registeredModel": "support-bot", "alias": "champion",
                                                 "resolved": {"version": "3", "uri": uri}}}


def _egress(evaluation: Evaluation) -> list[dict[str, Any]]:
    (policy,) = evaluation.of_type(NETWORK_POLICY)
    return policy.inputs["spec"]["egress"]


def _opens(egress: list[dict[str, Any]], target: dict[str, Any], port: int) -> bool:
    return any(target in rule.get("to", []) and {"protocol": "TCP", "port": port} in rule.get("ports", [])
               for rule in egress)


def _ns(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


# (case, overrides, (target, port) the policy must open)
OPENED = [
    # The issue's example: an in-cluster mirror on a private address and port 8080, blocked by `hub: direct`.
    ("mirror on a private address", {"hfEndpoint": MIRROR}, ({"ipBlock": {"cidr": "10.20.0.5/32"}}, 8080)),
    ("mirror as a Service", {"hfEndpoint": "http://hf-mirror.mirrors.svc.cluster.local:8080"}, (_ns("mirrors"), 8080)),
    ("mirror in the model namespace", {"hfEndpoint": "http://hf-mirror:8080"}, (_ns("intel-inference"), 8080)),
    ("mirror behind allowTo", {"hfEndpoint": "http://hf-mirror.corp.example:8080",
                               "networkPolicy": {"egress": {"allowTo": [{"cidr": "10.30.0.0/24", "port": 8080}]}}},
     ({"ipBlock": {"cidr": "10.30.0.0/24"}}, 8080)),
    ("S3 store as a Service", {"registry": {"resolve": False, "s3": {"endpoint": "minio.minio.svc:9000",
                                                                     "useHttps": False, **S3_KEYS}},
                               "models": [_registry_model("s3://models/support-bot/3")]}, (_ns("minio"), 9000)),
    ("S3 store on an address", {"registry": {"resolve": False, "s3": {"endpoint": "10.1.2.3:9000", **S3_KEYS}},
                                "models": [_registry_model("s3://models/support-bot/3")]},
     ({"ipBlock": {"cidr": "10.1.2.3/32"}}, 9000)),
    ("S3 default port over http", {"registry": {"resolve": False, "s3": {"endpoint": "10.1.2.3", "useHttps": False,
                                                                         **S3_KEYS}},
                                   "models": [_registry_model("s3://models/support-bot/3")]},
     ({"ipBlock": {"cidr": "10.1.2.3/32"}}, 80)),
]


@pytest.mark.parametrize("case,overrides,opened", OPENED, ids=[c[0] for c in OPENED])
def test_the_network_policy_opens_each_configured_endpoint_on_its_own_address_and_port(case, overrides, opened):
    evaluation = run_stack("xeon", hfToken=TOKEN, **overrides)
    assert _opens(_egress(evaluation), *opened), _egress(evaluation)


def test_a_public_mirror_on_443_rides_the_direct_hub_rule_and_hub_none_opens_no_mirror():
    egress = _egress(run_stack("xeon", hfToken=TOKEN, hfEndpoint="https://hf-mirror.example.com"))
    assert len(egress) == 2  # DNS, and HTTPS outside the private ranges
    none = _egress(run_stack("xeon", hfToken=TOKEN, hfEndpoint=MIRROR, validateToken=False,
                             networkPolicy={"egress": {"hub": "none"}}))
    assert not _opens(none, {"ipBlock": {"cidr": "10.20.0.5/32"}}, 8080)


def test_the_mlflow_server_and_chart_mirrors_are_not_opened_no_pod_reaches_them():
    evaluation = run_stack("xeon", hfToken=TOKEN, chartRepositories={"kserve-crd": "http://10.9.9.9:8081/charts"},
                           registry={"resolve": False, "trackingUri": "http://10.8.8.8:5000"},
                           models=[_registry_model("gs://models/support-bot/3")])
    text = repr(_egress(evaluation))
    assert "10.8.8.8" not in text and "10.9.9.9" not in text and "5000" not in text


# (case, overrides, key path, fragments of the one message)
REFUSED = [
    ("mirror by DNS name on 8080", {"hfEndpoint": "http://hf-mirror.corp.example:8080"}, "hfEndpoint",
     ["hf-mirror.corp.example:8080", "'direct' opens only port 443", "cannot name a DNS host",
      "networkPolicy.egress.allowTo [{cidr: <its address range>, port: 8080}]"]),
    ("mirror on 443 behind a proxy on 3128", {"hfEndpoint": "https://hf-mirror.corp.example",
                                              "networkPolicy": {"egress": {"hub": "proxy", "proxy": {
                                                  "cidr": "10.20.0.9/32", "port": 3128}}}},
     "hfEndpoint", ["'proxy' opens only the proxy (port 3128)"]),
    ("S3 store by DNS name", {"registry": {"resolve": False, "s3": {"endpoint": "minio.corp.example:9000", **S3_KEYS}},
                              "models": [_registry_model("s3://models/support-bot/3")]},
     "registry.s3.endpoint", ["the S3 store", "minio.corp.example:9000", "port: 9000"]),
    ("AWS S3 with hub none", {"registry": {"resolve": False, "s3": S3_KEYS},
                              "networkPolicy": {"egress": {"hub": "none"}}, "validateToken": False,
                              "models": [_registry_model("s3://models/support-bot/3")]},
     "models[0].source", ["AWS S3", "s3.amazonaws.com:443", "'none' opens no hub"]),
    ("HDFS store", {"registry": {"resolve": False}, "models": [_registry_model("hdfs://namenode/models/3")]},
     "models[0].source", ["HDFS", "KServe's HDFS secret", "networkPolicy.egress.allowTo"]),
]


@pytest.mark.parametrize("case,overrides,key,fragments", REFUSED, ids=[c[0] for c in REFUSED])
def test_an_endpoint_the_policy_cannot_open_is_refused_naming_its_key(case, overrides, key, fragments):
    evaluation = run_stack_or_error("xeon", hfToken=TOKEN, **overrides)
    message = str(evaluation.error)
    assert f"kserve-intel:{key} = " in message, message
    assert message.count("reached on") + message.count("does not open") >= 1
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "None" not in message
    assert not [r for r in evaluation.registrations if r.custom], "a resource was registered before the refusal"
    # The same stack with the network policy off is accepted (nothing to open).
    run_stack("xeon", hfToken=TOKEN, **{**overrides, "networkPolicy": {"enabled": False}})


def test_allow_to_needs_exactly_one_destination():
    evaluation = run_stack_or_error("xeon", hfToken=TOKEN, networkPolicy={"egress": {"allowTo": [
        {"cidr": "10.0.0.0/8", "namespace": "minio", "port": 9000}]}})
    assert "kserve-intel:networkPolicy.egress.allowTo[0]" in str(evaluation.error)


def run_stack_or_error(stack: str, **overrides: Any) -> Evaluation:
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in overrides.items()}
    config, secret_keys = stack_config(stack, encoded)
    evaluation = evaluate(config, secret_keys, stack=stack, raise_errors=False)
    assert evaluation.error is not None, "the stack was accepted"
    return evaluation
