"""PromQL over vLLM's /metrics, written once for alerts and the dashboard.

vLLM renamed some metrics between the versions our images run, so each query
that reads a renamed metric asks for the new name `or` the old one:

* KV-cache usage: `vllm:kv_cache_usage_perc` (V1 engine, vLLM 0.9+; the CPU
  image v0.10.2 exports both) or `vllm:gpu_cache_usage_perc` (V0 engine: the
  Habana vLLM fork in `opea/vllm-gaudi`, which has only this name).
* Time per output token: `vllm:inter_token_latency_seconds` (newer vLLM) or
  `vllm:time_per_output_token_seconds` (v0.10.2 and the Habana fork).

`A or B` keeps every series of A and only those of B whose labels A lacks, so
where both names are exported (same labels, same values) nothing is counted
twice. The names and their sources are in tests/data/vllm_metrics.yaml; the
tests check every name used here against that list.
"""

from __future__ import annotations

from typing import Sequence

RUNNING = "vllm:num_requests_running"
WAITING = "vllm:num_requests_waiting"
KV_CACHE_USAGE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
TIME_TO_FIRST_TOKEN = ("vllm:time_to_first_token_seconds",)
TIME_PER_OUTPUT_TOKEN = ("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds")
E2E_LATENCY = ("vllm:e2e_request_latency_seconds",)
PROMPT_TOKENS = "vllm:prompt_tokens_total"
GENERATION_TOKENS = "vllm:generation_tokens_total"
REQUEST_SUCCESS = "vllm:request_success_total"
# LoRA (vllm/v1/metrics/loggers.py, 0.10.2-0.33.0): a gauge set to the current time with labels
# max_lora, running_lora_adapters, waiting_lora_adapters (adapter names joined by ","); old label
# sets stay exported with old timestamps, so the newest series per pod is the current state. No
# other metric names the adapter: request rates and latencies carry only the base model_name.
LORA_INFO = "vllm:lora_requests_info"

# kube-state-metrics (part of kube-prometheus-stack): KServe's raw Deployment
# is named `<isvc>-predictor` (a v0.20 canary's `<isvc>-<canary>-predictor`), a
# Serverless revision's `<isvc>-predictor-<00001>-deployment`; pods add
# `-<hash>-<id>`, and the vLLM container is `kserve-container` in every mode.
DEPLOYMENT_AVAILABLE = "kube_deployment_status_replicas_available"
DEPLOYMENT_DESIRED = "kube_deployment_spec_replicas"
CONTAINER_RESTARTS = "kube_pod_container_status_restarts_total"
PREDICTOR_DEPLOYMENT = ".+-predictor(-[0-9]+-deployment)?"
# label_replace regex that recovers the InferenceService (or `<isvc>-<canary>`) from a deployment name.
PREDICTOR_DEPLOYMENT_OWNER = "(.+)-predictor(-[0-9]+-deployment)?"
PREDICTOR_POD = ".+-predictor-.+"
VLLM_CONTAINER = "kserve-container"

# vLLM labels every series with the served model name.
MODEL = "model_name"


def selector(**matchers: str) -> str:
    """`{a="x",b=~"y"}`: keys ending in `__re` match by regular expression."""
    parts = []
    for key, value in matchers.items():
        if key.endswith("__re"):
            parts.append(f'{key[:-4]}=~"{value}"')
        else:
            parts.append(f'{key}="{value}"')
    return "{" + ",".join(parts) + "}"


def either(names: Sequence[str], sel: str, wrap: str = "{}") -> str:
    """`wrap` applied to each name in turn, joined by `or` (first name wins)."""
    alternatives = [wrap.format(f"{name}{sel}") for name in names]
    return alternatives[0] if len(alternatives) == 1 else "(" + " or ".join(alternatives) + ")"


def quantile(q: float, histogram: Sequence[str], sel: str, by: Sequence[str], window: str) -> str:
    """q-quantile of a vLLM histogram per `by`, over `window`."""
    group = ", ".join(["le", *by])
    buckets = [f"{name}_bucket" for name in histogram]
    return f"histogram_quantile({q}, {either(buckets, sel, f'sum by ({group}) (rate({{}}[{window}]))')})"


def rate_sum(metric: str, sel: str, by: Sequence[str], window: str) -> str:
    return f"sum by ({', '.join(by)}) (rate({metric}{sel}[{window}]))"


def lora_latest(sel: str) -> str:
    """The current vllm:lora_requests_info series of each pod (the newest timestamp)."""
    return f"topk by (namespace, pod) (1, {LORA_INFO}{sel})"


def lora_waiting(namespace: str) -> str:
    """Pods whose latest LoRA state has requests waiting for an adapter slot (lora.maxLoras full)."""
    waiting = selector(namespace=namespace, waiting_lora_adapters__re=".+")
    every = selector(namespace=namespace)
    return (f"max by (namespace, pod, waiting_lora_adapters) ({LORA_INFO}{waiting}) >= on (namespace, pod) "
            f"group_left () max by (namespace, pod) ({LORA_INFO}{every})")


# --- other backends ---------------------------------------------------------------
#
# TGI v3.3.7 (huggingface/text-generation-inference, router/src/server.rs and
# backends/v3/src/*.rs; names in tests/data/backend_metrics.yaml): served on the
# API port's /metrics; the metrics-rs exporter adds no `_total` to counters,
# histograms get `_bucket/_sum/_count`; durations in seconds. No series names the
# model: the PodMonitor's `inferenceservice` target label (from the pod label
# app.kubernetes.io/instance) does. No time-to-first-token and no KV-cache metric.
TGI_REQUEST_SUCCESS = "tgi_request_success"
TGI_REQUEST_FAILURE = "tgi_request_failure"
TGI_QUEUE_SIZE = "tgi_queue_size"
TGI_BATCH_SIZE = "tgi_batch_current_size"
TGI_QUEUE_DURATION = ("tgi_request_queue_duration",)
TGI_TIME_PER_TOKEN = ("tgi_request_mean_time_per_token_duration",)
TGI_REQUEST_DURATION = ("tgi_request_duration",)
TGI_GENERATED_TOKENS = "tgi_request_generated_tokens_sum"  # histogram of tokens per request: its sum counts tokens
TGI_INPUT_TOKENS = "tgi_request_input_length_sum"
# OVMS v2026.3 (openvinotoolkit/model_server, src/metrics/metric_config.cpp,
# docs/metrics.md "Metrics implementation for MediaPipe Graphs"): served on the
# REST port's /metrics only with --metrics_enable; an LLM is a MediaPipe graph,
# whose families are these (label `name` = the served model name); times in
# microseconds. No token, time-to-first-token, time-per-token or KV-cache metric
# (docs/llm/reference.md: text-generation metrics go to the log only).
OVMS_REQUESTS_ACCEPTED = "ovms_requests_accepted"
OVMS_GRAPH_ERRORS = "ovms_graph_error"
OVMS_CURRENT_GRAPHS = "ovms_current_graphs"
OVMS_GRAPH_TIME_US = ("ovms_graph_processing_time_us",)
# Prometheus' own per-target series (1 while the last scrape succeeded): a pod
# count that needs no metric of the server itself.
UP = "up"
# The PodMonitor's target label naming the InferenceService (builders/monitoring.py).
INFERENCESERVICE = "inferenceservice"
