"""Issue 22, classes 5 and 6: downloads that cannot happen, clocks that disagree.

Class 6: the weights Job deadline, the startup probe window, the readiness wait and the Serverless progress
deadline all come from `plan.model_clock` (readyTimeoutMinutes, never less than the platform's startup
window), so raising readyTimeoutMinutes lengthens every one. Each case runs the real program under the mocks
and reads what it registered (inputs and customTimeouts).
"""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import Evaluation
from tests.conftest import TOKEN, run_stack

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
JOB = "kubernetes:batch/v1:Job"
KNATIVE_SERVING = "kubernetes:operator.knative.dev/v1beta1:KnativeServing"
COMMIT = "a09a35458c702b33eeacc393d103063234e8bc28"
MULTINODE = {"kserve": {"version": "v0.20.0"}, "autoscaling": {"enabled": False},
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
    # The example: the weights Job and the startup probe were fixed at 90 minutes (Gaudi's window).
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
