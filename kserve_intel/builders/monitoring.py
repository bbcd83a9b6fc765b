"""Monitoring objects of a stack: PodMonitor, PrometheusRule, Grafana dashboard.

All need the Prometheus Operator's CRDs (PodMonitor, PrometheusRule) and,
for `grafanaDashboard.mode: operator`, the Grafana Operator's GrafanaDashboard
CRD in the cluster. A PodMonitor, not a ServiceMonitor: KServe's predictor
Service copies its labels from the InferenceService in ways that changed
between releases, and with several replicas each pod must be scraped anyway;
the pods carry our own labels (spec.predictor.labels) in every version.

Per backend (docs/monitoring.md): the PodMonitor scrapes each model's serving
stack `metrics_path` on the serving port (vLLM, TGI: the API port; OVMS: the
REST port, with --metrics_enable), one endpoint per distinct path, each keeping
only its models' pods when there is more than one. Alerts and the dashboard use
each backend's own metric names and leave out what a backend cannot feed.
A stack with only vLLM models renders as it did before other backends existed.
"""

from __future__ import annotations

import json
from typing import Any

from .. import naming
from . import promql
from ..config.monitoring import MonitoringConfig
from .dashboard import models_dashboard, vllm_dashboard
from ..plan import ModelPlan, StackPlan

PROMETHEUS_API = "monitoring.coreos.com/v1"
GRAFANA_API = "grafana.integreatly.org/v1beta1"
# The runtime's container port (builders/runtime.py); vLLM's OpenAI server
# serves /metrics on its API port.
METRICS_PORT_NAME = "http1"
METRICS_PATH = "/metrics"
# Grafana's uid limit.
DASHBOARD_UID_MAX = 40


def _monitoring(plan: StackPlan) -> MonitoringConfig:
    return plan.config.monitoring


def _metadata(plan: StackPlan, name: str, namespace: str, extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {**naming.labels(name, "monitoring"), **naming.stack_labels(plan.stack), **(extra_labels or {})},
    }


def vllm_pod_selector() -> dict[str, str]:
    """Labels every vLLM predictor pod of this program carries (spec.predictor.labels)."""
    sample = naming.labels("-", "inference-server")
    keys = ("app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/part-of")
    return {key: sample[key] for key in keys}


def backends(plan: StackPlan) -> set[str]:
    """The serving backends the stack's models run (vllm, tgi, ovms, custom)."""
    return {m.backend for m in plan.models} or {"vllm"}


def vllm_only(plan: StackPlan) -> bool:
    return backends(plan) == {"vllm"}


def model_pod_selector(plan: StackPlan) -> dict[str, str]:
    """Labels every predictor pod of the stack carries, whatever its backend.

    Only vLLM: as before (app.kubernetes.io/name: vllm included). Otherwise the
    component and part-of labels alone, which every backend's pods share.
    """
    selector = vllm_pod_selector()
    if not vllm_only(plan):
        del selector["app.kubernetes.io/name"]
    return selector


def metrics_endpoints(plan: StackPlan) -> list[tuple[str, tuple[ModelPlan, ...]]]:
    """(metrics path, its models) per distinct path in use, in model order; a stack without one scrapes nothing."""
    paths: dict[str, list[ModelPlan]] = {}
    for model in plan.models:
        path = model.serving_stack.metrics_path if model.serving_stack else METRICS_PATH
        if path:
            paths.setdefault(path, []).append(model)
    return [(path, tuple(models)) for path, models in paths.items()]


def pod_monitor_name(plan: StackPlan) -> str:
    return naming.monitoring_name(plan.config.namespace, "vllm" if vllm_only(plan) else "models")


def pod_monitor(plan: StackPlan) -> dict[str, Any] | None:
    """None when no model's server has a metrics endpoint (custom runtimes without one)."""
    monitoring = _monitoring(plan)
    namespace = plan.config.namespace
    endpoints = metrics_endpoints(plan) if plan.models else [(METRICS_PATH, ())]
    if not endpoints:
        return None
    return {
        "apiVersion": PROMETHEUS_API,
        "kind": "PodMonitor",
        "metadata": _metadata(plan, pod_monitor_name(plan), namespace, dict(monitoring.prometheus_selector)),
        "spec": {
            "selector": {"matchLabels": model_pod_selector(plan)},
            "namespaceSelector": {"matchNames": [namespace]},
            "podMetricsEndpoints": [
                _endpoint(plan, path, models if len(endpoints) > 1 else ()) for path, models in endpoints
            ],
        },
    }


def _endpoint(plan: StackPlan, path: str, only: tuple[ModelPlan, ...]) -> dict[str, Any]:
    """One scrape endpoint; `only`: keep just these models' pods (several paths in use)."""
    monitoring = _monitoring(plan)
    relabelings: list[dict[str, Any]] = []
    if only:
        relabelings.append({
            "action": "keep",
            "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
            "regex": "|".join(m.name for m in only),
        })
    relabelings.append({
        # The InferenceService name next to vLLM's served model name (TGI and OVMS name no model: this does).
        "action": "replace",
        "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
        "targetLabel": "inferenceservice",
    })
    if plan.stack:
        relabelings.append({
            "action": "replace",
            "sourceLabels": ["__meta_kubernetes_pod_label_kserve_intel_stack"],
            "targetLabel": "stack",
        })
    return {
        "port": METRICS_PORT_NAME,
        "path": path,
        "scheme": "http",
        "interval": monitoring.interval,
        "scrapeTimeout": monitoring.scrape_timeout,
        "relabelings": relabelings,
    }


def _alert(name: str, expr: str, for_: str | None, severity: str, summary: str, description: str) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "alert": name,
        "expr": expr,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }
    if for_:
        rule["for"] = for_
    return rule


def _has_adapters(plan: StackPlan) -> bool:
    """A vLLM model with LoRA adapters: vllm:lora_requests_info has data."""
    return any(m.backend == "vllm" and (m.lora is not None or (m.canary is not None and m.canary.lora is not None))
               for m in plan.models)


def _lora_alerts(plan: StackPlan) -> list[dict[str, Any]]:
    if not _has_adapters(plan):
        return []
    alerts = _monitoring(plan).alerts
    return [_alert(
        "KServeIntelLoraAdaptersWaiting",
        promql.lora_waiting(plan.config.namespace),
        alerts.for_, "warning",
        "{{ $labels.pod }}: requests for LoRA adapters {{ $labels.waiting_lora_adapters }} are waiting",
        f"For {alerts.for_} the newest vllm:lora_requests_info of this pod has listed waiting adapters: "
        "more adapters are in demand than lora.maxLoras lets into one batch. Raise lora.maxLoras (on Gaudi "
        "the kernel cost grows with maxLoras x maxLoraRank) or split the adapters over models.",
    )]


def alert_rules(plan: StackPlan) -> list[dict[str, Any]]:
    """The alerts users act on, scoped to the stack's model namespace.

    Readiness and restarts (kube-state-metrics) cover every backend; the others
    exist per backend in use, on its own metrics, and a backend without the
    metric gets none (docs/monitoring.md). Rules of a backend other than vLLM
    carry a `backend` label; the alert names are the same for every backend.
    """
    alerts = _monitoring(plan).alerts
    ns = plan.config.namespace
    used = backends(plan)
    server = "vLLM" if used == {"vllm"} else "model server"
    deployments = promql.selector(namespace=ns, deployment__re=promql.PREDICTOR_DEPLOYMENT)
    containers = promql.selector(namespace=ns, container=promql.VLLM_CONTAINER, pod__re=promql.PREDICTOR_POD)
    not_ready = _alert(
        "KServeIntelModelNotReady",
        # Pods wanted but none available: a model scaled to zero (Knative, KEDA) or a Serverless
        # revision that lost its traffic (Knative scales it to 0) is not "not ready".
        f'label_replace((max by (namespace, deployment) ({promql.DEPLOYMENT_DESIRED}{deployments}) >= 1) '
        f'unless (max by (namespace, deployment) ({promql.DEPLOYMENT_AVAILABLE}{deployments}) >= 1), '
        f'"inferenceservice", "$1", "deployment", "{promql.PREDICTOR_DEPLOYMENT_OWNER}")',
        alerts.not_ready_for, "critical",
        "Model {{ $labels.inferenceservice }} has no ready replica",
        "InferenceService {{ $labels.namespace }}/{{ $labels.inferenceservice }} has had no available "
        f"predictor replica for {alerts.not_ready_for}: it answers no request. Check `kubectl -n "
        "{{ $labels.namespace }} get pods -l app.kubernetes.io/instance={{ $labels.inferenceservice }}` "
        f"and the {server} logs (image pull, weight download, out of memory, no matching node).",
    )
    restarting = _alert(
        "KServeIntelPodRestarting",
        f"sum by (namespace, pod) (increase({promql.CONTAINER_RESTARTS}{containers}[1h])) >= "
        f"{alerts.restarts_per_hour}",
        None, "warning",
        f"{server[0].upper()}{server[1:]} pod {{{{ $labels.pod }}}} restarted {{{{ $value | humanize }}}} times in an hour",
        f"The {server} container restarted at least {alerts.restarts_per_hour} times in the last hour "
        "(crash, OOM kill or failing liveness probe). See `kubectl -n {{ $labels.namespace }} logs "
        "{{ $labels.pod }} --previous`.",
    )
    rules = [not_ready]
    if "vllm" in used:
        rules += _vllm_alerts(plan)
    if "tgi" in used:
        rules += _tgi_alerts(plan)
    return rules + [restarting] + _lora_alerts(plan)


def _vllm_alerts(plan: StackPlan) -> list[dict[str, Any]]:
    alerts = _monitoring(plan).alerts
    vllm = promql.selector(namespace=plan.config.namespace)
    by = ("namespace", promql.MODEL)
    ttft = promql.quantile(0.95, promql.TIME_TO_FIRST_TOKEN, vllm, by, "5m")
    kv = promql.either(promql.KV_CACHE_USAGE, vllm, "max by (namespace, model_name, pod) ({})")
    return [
        _alert(
            "KServeIntelRequestsQueueing",
            f"sum by (namespace, model_name) ({promql.WAITING}{vllm}) > {alerts.waiting_requests}",
            alerts.for_, "warning",
            "{{ $labels.model_name }}: {{ $value }} requests waiting",
            f"More than {alerts.waiting_requests} requests have been waiting for a batch slot for "
            f"{alerts.for_}: the model is saturated. Add replicas (autoscaling.maxReplicas), lower "
            "maxModelLen or spread the load.",
        ),
        _alert(
            "KServeIntelTimeToFirstTokenHigh",
            f"{ttft} > {alerts.ttft_p95_seconds:g}",
            alerts.for_, "warning",
            "{{ $labels.model_name }}: time to first token p95 is {{ $value | humanizeDuration }}",
            f"The 95th percentile of the time to first token has been above {alerts.ttft_p95_seconds:g}s "
            f"for {alerts.for_}. Long prompts, a full queue or a full KV cache cause it.",
        ),
        _alert(
            "KServeIntelKVCacheNearlyFull",
            f"{kv} > {alerts.kv_cache_usage:g}",
            alerts.for_, "warning",
            "{{ $labels.model_name }}: KV cache {{ $value | humanizePercentage }} full on {{ $labels.pod }}",
            f"KV-cache usage has been above {alerts.kv_cache_usage:.0%} for {alerts.for_}: new requests "
            "wait and running ones get preempted. Add replicas or lower maxModelLen / --max-num-seqs.",
        ),
    ]


def _tgi_alerts(plan: StackPlan) -> list[dict[str, Any]]:
    """TGI: the queue alone (no time-to-first-token or KV-cache metric); series name no model."""
    alerts = _monitoring(plan).alerts
    tgi = promql.selector(namespace=plan.config.namespace)
    rule = _alert(
        "KServeIntelRequestsQueueing",
        f"sum by (namespace, inferenceservice) ({promql.TGI_QUEUE_SIZE}{tgi}) > {alerts.waiting_requests}",
        alerts.for_, "warning",
        "{{ $labels.inferenceservice }}: {{ $value }} requests waiting",
        f"More than {alerts.waiting_requests} requests have been waiting in TGI's queue (tgi_queue_size) for "
        f"{alerts.for_}: the model is saturated. Add replicas (autoscaling.maxReplicas) or spread the load.",
    )
    rule["labels"]["backend"] = "tgi"
    return [rule]


def prometheus_rule(plan: StackPlan) -> dict[str, Any]:
    namespace = plan.config.namespace
    return {
        "apiVersion": PROMETHEUS_API,
        "kind": "PrometheusRule",
        "metadata": _metadata(plan, naming.monitoring_name(namespace, "alerts"), namespace,
                              dict(_monitoring(plan).prometheus_selector)),
        "spec": {"groups": [{"name": f"kserve-intel.{namespace}", "rules": alert_rules(plan)}]},
    }


def dashboard_uid(namespace: str) -> str:
    return naming.fit(f"kserve-intel-{namespace}", DASHBOARD_UID_MAX, namespace)


def dashboard_json(plan: StackPlan) -> str:
    namespace = plan.config.namespace
    uid = dashboard_uid(namespace)
    if vllm_only(plan):
        board = vllm_dashboard(namespace, uid, f"vLLM models ({namespace})", lora=_has_adapters(plan))
    else:
        board = models_dashboard(namespace, uid, f"Models ({namespace})", backends(plan), lora=_has_adapters(plan))
    return json.dumps(board, indent=1, sort_keys=True)


def grafana_dashboard(plan: StackPlan) -> dict[str, Any]:
    """A ConfigMap for Grafana's sidecar, or a GrafanaDashboard for the Grafana Operator."""
    config = _monitoring(plan).grafana_dashboard
    namespace = config.namespace or plan.config.namespace
    name = naming.monitoring_name(plan.config.namespace, "dashboard")
    if config.mode == "configmap":
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _metadata(plan, name, namespace, dict(config.sidecar_label)),
            "data": {f"{name}.json": dashboard_json(plan)},
        }
    return {
        "apiVersion": GRAFANA_API,
        "kind": "GrafanaDashboard",
        "metadata": _metadata(plan, name, namespace),
        "spec": {
            "instanceSelector": {"matchLabels": dict(config.instance_selector)},
            # The Grafana instance usually lives in another namespace.
            "allowCrossNamespaceImport": True,
            "json": dashboard_json(plan),
        },
    }
