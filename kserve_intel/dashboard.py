"""The Grafana dashboard of a stack's vLLM models, generated as a dict.

One dashboard per model namespace. Variables: the Prometheus data source, the
namespace (defaults to the stack's) and the models (vLLM's `model_name`
label, the served model name; all by default). Every panel shows one series
per model. Queries come from `promql.py`, which handles vLLM's renamed metrics.
"""

from __future__ import annotations

from typing import Any

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
