"""The Grafana dashboard of a stack's models, generated as a dict.

One dashboard per model namespace. Variables: the Prometheus data source, the
namespace (defaults to the stack's) and the models (vLLM's `model_name`
label, the served model name; all by default). Every panel shows one series
per model. Queries come from `promql.py`, which handles vLLM's renamed metrics.

A stack with only vLLM models gets the vLLM panels alone (`vllm_dashboard`).
With other backends (`models_dashboard`) each backend in use gets a row of the
panels its own metrics can feed; TGI and OVMS series name no model, so their
panels select and group by the PodMonitor's `inferenceservice` label (variable
`inferenceservice`). Left out, for want of a metric (docs/monitoring.md): TGI's
time to first token and KV cache; OVMS's tokens, time to first token, time per
token, KV cache and queue; custom runtimes' every server metric.
"""

from __future__ import annotations

from typing import Any, Iterable

from . import promql

SCHEMA_VERSION = 39
WINDOW = "$__rate_interval"
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_SEL = promql.selector(namespace="$namespace", model_name__re="$model")
_BY = (promql.MODEL,)


def _target(ref: str, expr: str, legend: str) -> dict[str, Any]:
    return {"refId": ref, "datasource": _DATASOURCE, "expr": expr, "legendFormat": legend, "range": True}


def _quantiles(histogram: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        _target(ref, promql.quantile(q, histogram, _SEL, _BY, WINDOW), f"{{{{model_name}}}} p{int(q * 100)}")
        for ref, q in (("A", 0.5), ("B", 0.95), ("C", 0.99))
    ]


def _panel(panel_id: int, title: str, description: str, unit: str, targets: list[dict[str, Any]],
           x: int, y: int, **defaults: Any) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": _DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit, **defaults}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": targets,
    }


def lora_panel() -> dict[str, Any]:
    """Which adapters each vLLM pod runs and has waiting (vllm:lora_requests_info; no per-adapter rates exist)."""
    latest = promql.lora_latest(promql.selector(namespace="$namespace"))
    return _panel(9, "LoRA adapters", "Pods per adapter state: the adapters in the running batch and those "
                  "waiting for a slot (lora.maxLoras), from vllm:lora_requests_info. vLLM exports no per-adapter "
                  "request rate or latency: the other panels count adapter requests under the base model.",
                  "short", [
                      _target("A", f"count by (running_lora_adapters, waiting_lora_adapters) ({latest})",
                              "running: {{running_lora_adapters}} waiting: {{waiting_lora_adapters}}"),
                  ], 0, 32, decimals=0)


def panels(lora: bool = False) -> list[dict[str, Any]]:
    ksm = promql.selector(namespace="$namespace", deployment__re=promql.PREDICTOR_DEPLOYMENT)
    return [
        _panel(1, "Request rate", "Finished requests per second, per model (vllm:request_success_total).", "reqps", [
            _target("A", promql.rate_sum(promql.REQUEST_SUCCESS, _SEL, _BY, WINDOW), "{{model_name}}"),
        ], 0, 0),
        _panel(2, "Queue", "Requests waiting for a batch slot and requests running, per model.", "short", [
            _target("A", f"sum by (model_name) ({promql.WAITING}{_SEL})", "{{model_name}} waiting"),
            _target("B", f"sum by (model_name) ({promql.RUNNING}{_SEL})", "{{model_name}} running"),
        ], 12, 0),
        _panel(3, "Time to first token", "p50, p95 and p99 of the time to the first generated token.", "s",
               _quantiles(promql.TIME_TO_FIRST_TOKEN), 0, 8),
        _panel(4, "Time per output token", "p50, p95 and p99 of the time between generated tokens "
               "(vllm:inter_token_latency_seconds, formerly vllm:time_per_output_token_seconds).", "s",
               _quantiles(promql.TIME_PER_OUTPUT_TOKEN), 12, 8),
        _panel(5, "Tokens per second", "Generated (output) and prompt (prefill) tokens per second, per model.",
               "short", [
                   _target("A", promql.rate_sum(promql.GENERATION_TOKENS, _SEL, _BY, WINDOW), "{{model_name}} generated"),
                   _target("B", promql.rate_sum(promql.PROMPT_TOKENS, _SEL, _BY, WINDOW), "{{model_name}} prompt"),
               ], 0, 16),
        _panel(6, "KV-cache usage", "Highest KV-cache usage among each model's replicas (1 = full: requests "
               "queue or get preempted).", "percentunit", [
                   _target("A", promql.either(promql.KV_CACHE_USAGE, _SEL, "max by (model_name) ({})"), "{{model_name}}"),
               ], 12, 16, min=0, max=1),
        _panel(7, "Replicas", "vLLM pods answering /metrics per model, and the replicas KServe asked for "
               "(kube-state-metrics).", "short", [
                   _target("A", f"count by (model_name) (count by (model_name, pod) ({promql.RUNNING}{_SEL}))",
                           "{{model_name}} serving"),
                   _target("B", f"sum by (deployment) ({promql.DEPLOYMENT_DESIRED}{ksm})", "{{deployment}} desired"),
                   _target("C", f"sum by (deployment) ({promql.DEPLOYMENT_AVAILABLE}{ksm})", "{{deployment}} available"),
               ], 0, 24, decimals=0),
        _panel(8, "End-to-end request latency", "p50, p95 and p99 of the whole request, queue included.", "s",
               _quantiles(promql.E2E_LATENCY), 12, 24),
    ] + ([lora_panel()] if lora else [])


def vllm_dashboard(namespace: str, uid: str, title: str, lora: bool = False) -> dict[str, Any]:
    models_query = f'label_values({promql.RUNNING}{{namespace="$namespace"}}, {promql.MODEL})'
    namespaces_query = f"label_values({promql.RUNNING}, namespace)"
    return {
        "uid": uid,
        "title": title,
        "description": "vLLM models served by KServe (kserve-intel): traffic, latency, tokens, queue, "
                       "KV cache and replicas per model.",
        "tags": ["kserve-intel", "vllm", "kserve"],
        "editable": True,
        "schemaVersion": SCHEMA_VERSION,
        "time": {"from": "now-3h", "to": "now"},
        "refresh": "30s",
        "graphTooltip": 1,
        "timezone": "browser",
        "templating": {"list": [
            {"type": "datasource", "name": "datasource", "label": "Prometheus", "query": "prometheus",
             "hide": 0, "current": {}},
            {"type": "query", "name": "namespace", "label": "Namespace", "datasource": _DATASOURCE,
             "definition": namespaces_query, "query": {"query": namespaces_query, "refId": "namespaces"},
             "current": {"text": namespace, "value": namespace}, "refresh": 2, "hide": 0},
            {"type": "query", "name": "model", "label": "Model", "datasource": _DATASOURCE,
             "definition": models_query, "query": {"query": models_query, "refId": "models"},
             "multi": True, "includeAll": True, "allValue": ".*",
             "current": {"text": "All", "value": "$__all"}, "refresh": 2, "hide": 0},
        ]},
        "panels": panels(lora),
    }


# --- other backends ------------------------------------------------------------------------

_ISVC_SEL = promql.selector(namespace="$namespace", inferenceservice__re="$inferenceservice")
_ISVC_BY = (promql.INFERENCESERVICE,)
BACKEND_TITLES = {"vllm": "vLLM", "tgi": "TGI (text-generation-inference)", "ovms": "OVMS (OpenVINO Model Server)"}
# Backends with panels, in dashboard order; a custom runtime's metrics are unknown (none).
PANEL_BACKENDS = ("vllm", "tgi", "ovms")
_ROW_ID = {"vllm": 100, "tgi": 200, "ovms": 300}


def _isvc_quantiles(histogram: tuple[str, ...], scale: str = "") -> list[dict[str, Any]]:
    return [
        _target(ref, promql.quantile(q, histogram, _ISVC_SEL, _ISVC_BY, WINDOW) + scale,
                f"{{{{inferenceservice}}}} p{int(q * 100)}")
        for ref, q in (("A", 0.5), ("B", 0.95), ("C", 0.99))
    ]


def _serving(backend: str) -> dict[str, Any]:
    ksm = promql.selector(namespace="$namespace", deployment__re=promql.PREDICTOR_DEPLOYMENT)
    return {"title": "Replicas", "description": f"{BACKEND_TITLES[backend]} pods Prometheus scrapes per "
            "InferenceService (up), and the replicas KServe asked for (kube-state-metrics).", "unit": "short",
            "targets": [
                _target("A", f"count by (inferenceservice) ({promql.UP}{_ISVC_SEL} == 1)", "{{inferenceservice}} serving"),
                _target("B", f"sum by (deployment) ({promql.DEPLOYMENT_DESIRED}{ksm})", "{{deployment}} desired"),
                _target("C", f"sum by (deployment) ({promql.DEPLOYMENT_AVAILABLE}{ksm})", "{{deployment}} available"),
            ], "decimals": 0}


def tgi_panels() -> list[dict[str, Any]]:
    """What TGI's router metrics feed; no time to first token, no KV cache."""
    return [
        {"title": "Request rate", "description": "Finished and failed requests per second, per InferenceService "
         "(tgi_request_success, tgi_request_failure).", "unit": "reqps", "targets": [
             _target("A", promql.rate_sum(promql.TGI_REQUEST_SUCCESS, _ISVC_SEL, _ISVC_BY, WINDOW), "{{inferenceservice}}"),
             _target("B", promql.rate_sum(promql.TGI_REQUEST_FAILURE, _ISVC_SEL, _ISVC_BY, WINDOW), "{{inferenceservice}} failed"),
         ]},
        {"title": "Queue", "description": "Requests waiting in TGI's queue and requests in the running batch "
         "(tgi_queue_size, tgi_batch_current_size).", "unit": "short", "targets": [
             _target("A", f"sum by (inferenceservice) ({promql.TGI_QUEUE_SIZE}{_ISVC_SEL})", "{{inferenceservice}} waiting"),
             _target("B", f"sum by (inferenceservice) ({promql.TGI_BATCH_SIZE}{_ISVC_SEL})", "{{inferenceservice}} running"),
         ]},
        {"title": "Time in queue", "description": "p50, p95 and p99 of the time a request waits for a batch "
         "(tgi_request_queue_duration). TGI exports no time-to-first-token metric; queueing is its first part.",
         "unit": "s", "targets": _isvc_quantiles(promql.TGI_QUEUE_DURATION)},
        {"title": "Time per output token", "description": "p50, p95 and p99 of each request's mean time per "
         "generated token (tgi_request_mean_time_per_token_duration).", "unit": "s",
         "targets": _isvc_quantiles(promql.TGI_TIME_PER_TOKEN)},
        {"title": "Tokens per second", "description": "Generated and prompt (input) tokens per second "
         "(sums of the tgi_request_generated_tokens and tgi_request_input_length histograms).", "unit": "short",
         "targets": [
             _target("A", promql.rate_sum(promql.TGI_GENERATED_TOKENS, _ISVC_SEL, _ISVC_BY, WINDOW), "{{inferenceservice}} generated"),
             _target("B", promql.rate_sum(promql.TGI_INPUT_TOKENS, _ISVC_SEL, _ISVC_BY, WINDOW), "{{inferenceservice}} prompt"),
         ]},
        _serving("tgi"),
        {"title": "End-to-end request latency", "description": "p50, p95 and p99 of the whole request, queue "
         "included (tgi_request_duration).", "unit": "s", "targets": _isvc_quantiles(promql.TGI_REQUEST_DURATION)},
    ]


def ovms_panels() -> list[dict[str, Any]]:
    """What OVMS's MediaPipe graph metrics feed: no tokens, TTFT, time per token, KV cache or queue."""
    return [
        {"title": "Request rate", "description": "Requests accepted into the LLM graph and graph errors per "
         "second, per InferenceService (ovms_requests_accepted, ovms_graph_error).", "unit": "reqps", "targets": [
             _target("A", promql.rate_sum(promql.OVMS_REQUESTS_ACCEPTED, _ISVC_SEL, _ISVC_BY, WINDOW), "{{inferenceservice}}"),
             _target("B", promql.rate_sum(promql.OVMS_GRAPH_ERRORS, _ISVC_SEL, _ISVC_BY, WINDOW), "{{inferenceservice}} errors"),
         ]},
        {"title": "Requests in process", "description": "LLM graphs in process: one per unary request, one per "
         "open streaming connection (ovms_current_graphs). OVMS exports no queue length.", "unit": "short",
         "targets": [
             _target("A", f"sum by (inferenceservice) ({promql.OVMS_CURRENT_GRAPHS}{_ISVC_SEL})", "{{inferenceservice}} in process"),
         ]},
        {"title": "Graph processing time", "description": "p50, p95 and p99 of the graph's processing time: the "
         "whole request when unary, the session when streamed (ovms_graph_processing_time_us, in seconds here).",
         "unit": "s", "targets": _isvc_quantiles(promql.OVMS_GRAPH_TIME_US, " / 1000000")},
        _serving("ovms"),
    ]


def _laid_out(specs: list[dict[str, Any]], first_id: int, y: int) -> list[dict[str, Any]]:
    out = []
    for i, spec in enumerate(specs):
        defaults = {"decimals": spec["decimals"]} if "decimals" in spec else {}
        out.append(_panel(first_id + i, spec["title"], spec["description"], spec["unit"], spec["targets"],
                          12 * (i % 2), y + 8 * (i // 2), **defaults))
    return out


def _height(panels_: list[dict[str, Any]]) -> int:
    return max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels_), default=0)


def backend_panels(backends: Iterable[str], lora: bool = False) -> list[dict[str, Any]]:
    """A row per backend in use with the panels it can feed (vLLM's as in `panels`)."""
    result: list[dict[str, Any]] = []
    y = 0
    for backend in (b for b in PANEL_BACKENDS if b in set(backends)):
        result.append({"id": _ROW_ID[backend], "type": "row", "title": f"{BACKEND_TITLES[backend]} models",
                       "collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        y += 1
        if backend == "vllm":
            section = panels(lora)
            for panel in section:
                panel["gridPos"]["y"] += y
        else:
            specs = tgi_panels() if backend == "tgi" else ovms_panels()
            section = _laid_out(specs, _ROW_ID[backend] + 1, y)
        result += section
        y = _height(result)
    return result


def models_dashboard(namespace: str, uid: str, title: str, backends: Iterable[str], lora: bool = False) -> dict[str, Any]:
    """The dashboard of a stack whose models run on more than vLLM (`vllm_dashboard` when only vLLM)."""
    backends = set(backends)
    board = vllm_dashboard(namespace, uid, title, lora)
    used = [b for b in PANEL_BACKENDS if b in backends]
    board["description"] = ("Models served by KServe (kserve-intel), a row per serving backend: "
                            + ", ".join(BACKEND_TITLES[b] for b in used) + "." if used else
                            "Models served by KServe (kserve-intel) on custom runtimes: no server metric is known.")
    board["tags"] = ["kserve-intel", *used, "kserve"]
    variables = board["templating"]["list"]
    if "vllm" not in backends:
        variables[:] = [v for v in variables if v["name"] != "model"]
        variables[1]["definition"] = variables[1]["query"]["query"] = "label_values(up, namespace)"
    isvc_query = 'label_values(up{namespace="$namespace",inferenceservice!=""}, inferenceservice)'
    variables.append({"type": "query", "name": "inferenceservice", "label": "InferenceService",
                      "datasource": _DATASOURCE, "definition": isvc_query,
                      "query": {"query": isvc_query, "refId": "inferenceservices"},
                      "multi": True, "includeAll": True, "allValue": ".*",
                      "current": {"text": "All", "value": "$__all"}, "refresh": 2, "hide": 0})
    board["panels"] = backend_panels(backends, lora)
    return board
