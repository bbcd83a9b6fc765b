"""Monitoring objects of a stack: PodMonitor, PrometheusRule, Grafana dashboard.

All need the Prometheus Operator's CRDs (PodMonitor, PrometheusRule) and,
for `grafanaDashboard.mode: operator`, the Grafana Operator's GrafanaDashboard
CRD in the cluster. A PodMonitor, not a ServiceMonitor: KServe's predictor
Service copies its labels from the InferenceService in ways that changed
between releases, and with several replicas each pod must be scraped anyway;
the pods carry our own labels (spec.predictor.labels) in every version.
"""

from __future__ import annotations

import json
from typing import Any

from .. import naming, promql
from ..config import MonitoringConfig
from ..dashboard import vllm_dashboard
from ..plan import StackPlan

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


def pod_monitor(plan: StackPlan) -> dict[str, Any]:
    monitoring = _monitoring(plan)
    namespace = plan.config.namespace
    relabelings: list[dict[str, Any]] = [{
        # The InferenceService name next to vLLM's served model name.
        "action": "replace",
        "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
        "targetLabel": "inferenceservice",
    }]
    if plan.stack:
        relabelings.append({
            "action": "replace",
            "sourceLabels": ["__meta_kubernetes_pod_label_kserve_intel_stack"],
            "targetLabel": "stack",
        })
    return {
        "apiVersion": PROMETHEUS_API,
        "kind": "PodMonitor",
        "metadata": _metadata(plan, naming.monitoring_name(namespace, "vllm"), namespace, dict(monitoring.prometheus_selector)),
        "spec": {
            "selector": {"matchLabels": vllm_pod_selector()},
            "namespaceSelector": {"matchNames": [namespace]},
            "podMetricsEndpoints": [{
                "port": METRICS_PORT_NAME,
                "path": METRICS_PATH,
                "scheme": "http",
                "interval": monitoring.interval,
                "scrapeTimeout": monitoring.scrape_timeout,
                "relabelings": relabelings,
            }],
        },
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
    return any(m.lora is not None or (m.canary is not None and m.canary.lora is not None) for m in plan.models)


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
    """The alerts users act on, scoped to the stack's model namespace."""
    alerts = _monitoring(plan).alerts
    ns = plan.config.namespace
    vllm = promql.selector(namespace=ns)
    by = ("namespace", promql.MODEL)
    deployments = promql.selector(namespace=ns, deployment__re=promql.PREDICTOR_DEPLOYMENT)
    containers = promql.selector(namespace=ns, container=promql.VLLM_CONTAINER, pod__re=promql.PREDICTOR_POD)
    ttft = promql.quantile(0.95, promql.TIME_TO_FIRST_TOKEN, vllm, by, "5m")
    kv = promql.either(promql.KV_CACHE_USAGE, vllm, "max by (namespace, model_name, pod) ({})")
    return [
        _alert(
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
            "and the vLLM logs (image pull, weight download, out of memory, no matching node).",
        ),
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
        _alert(
            "KServeIntelPodRestarting",
            f"sum by (namespace, pod) (increase({promql.CONTAINER_RESTARTS}{containers}[1h])) >= "
            f"{alerts.restarts_per_hour}",
            None, "warning",
            "vLLM pod {{ $labels.pod }} restarted {{ $value | humanize }} times in an hour",
            f"The vLLM container restarted at least {alerts.restarts_per_hour} times in the last hour "
            "(crash, OOM kill or failing liveness probe). See `kubectl -n {{ $labels.namespace }} logs "
            "{{ $labels.pod }} --previous`.",
        ),
    ] + _lora_alerts(plan)


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
    board = vllm_dashboard(namespace, dashboard_uid(namespace), f"vLLM models ({namespace})", lora=_has_adapters(plan))
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
