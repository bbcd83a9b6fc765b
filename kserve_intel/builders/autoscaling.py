"""How each model scales: predictor fields and annotations per engine, KEDA's
ScaledObject where KServe does not create one, and the KEDA install."""

from __future__ import annotations

from typing import Any

from .. import naming
from . import promql
from ..plan import ModelPlan, StackPlan
from .helm import HelmRelease, chart_release, namespace
from ..catalog.kserve import KEDA_REPOSITORY

KEDA_NAMESPACE = "keda"
# KEDA polls Prometheus this often; a model idles this long before scaling down
# to its minimum (an LLM pod is expensive to start again).
POLLING_SECONDS = 15
COOLDOWN_SECONDS = 600
TTFT_QUANTILE = 0.9
RATE_WINDOW = "2m"


def pod_selector(model: ModelPlan) -> str:
    """PromQL label matchers for the stable predictor's pods.

    `namespace` and `pod` are the target labels every Prometheus Operator
    PodMonitor/ServiceMonitor keeps; pods of Deployment `<name>-predictor` are
    `<name>-predictor-<replicaset hash>-<pod hash>`.
    """
    return f'namespace="{model.namespace}",pod=~"{model.name}-predictor-[a-z0-9]+-[a-z0-9]+"'


def vllm_query(model: ModelPlan, metric: str) -> str:
    """The model-wide value KEDA compares with the target.

    waiting: requests queued in vLLM, summed over the model's pods (KEDA divides
    by the replica count: a target per replica). ttft: p90 time to first token
    in milliseconds over the model's pods.
    """
    selector = pod_selector(model)
    if metric == "waiting":
        return f"sum(vllm:num_requests_waiting{{{selector}}})"
    if metric == "ttft":
        return (
            f"1000 * histogram_quantile({TTFT_QUANTILE}, sum by (le) "
            f"(rate(vllm:time_to_first_token_seconds_bucket{{{selector}}}[{RATE_WINDOW}])))"
        )
    raise ValueError(f"no vLLM query for metric {metric!r}")


def keda_query(model: ModelPlan, metric: str) -> str:
    """`vllm_query`'s value from the model's own backend (the pairs scaling.KEDA_BACKEND_METRICS allows).

    TGI: requests in its queue (tgi_queue_size), summed over the model's pods.
    Other pairs are refused before any resource (scaling.backend_metric_issues).
    """
    if model.backend == "vllm":
        return vllm_query(model, metric)
    if model.backend == "tgi" and metric == "waiting":
        return f"sum({promql.TGI_QUEUE_SIZE}{{{pod_selector(model)}}})"
    raise ValueError(f"no KEDA query for metric {metric!r} on backend {model.backend!r}")


def _replica_count(model: ModelPlan) -> str:
    return f"count(vllm:num_requests_waiting{{{pod_selector(model)}}})"


def predictor_scaling(plan: StackPlan, model: ModelPlan) -> tuple[dict[str, Any], dict[str, str]]:
    """(predictor fields, InferenceService annotations) for the model's scaling."""
    scaling = model.scaling
    release = plan.release
    replicas = {"minReplicas": scaling.min_replicas, "maxReplicas": scaling.max_replicas}
    if plan.config.kserve.serverless:
        # Knative's KPA scales every revision; KServe turns these fields into
        # autoscaling.knative.dev/{metric,target} and min/max-scale.
        if scaling.engine is None:
            return replicas, {}
        return {**replicas, "scaleMetric": scaling.metric, "scaleTarget": scaling.target}, {}
    if scaling.engine is None:
        # A fixed single replica and no autoscaler at all.
        return replicas, {"serving.kserve.io/autoscalerClass": release.autoscaler_class_off}
    if scaling.engine == "hpa":
        return (
            {**replicas, "scaleMetric": scaling.metric, "scaleTarget": scaling.target},
            {"serving.kserve.io/autoscalerClass": "hpa"},
        )
    # KEDA
    if not release.supports_keda_autoscaler_class:
        # KServe creates no autoscaler; our ScaledObject (scaled_object) drives the Deployment.
        return replicas, {"serving.kserve.io/autoscalerClass": "external"}
    return (
        {**replicas, "autoScaling": {"metrics": _kserve_keda_metrics(plan, model)}},
        {"serving.kserve.io/autoscalerClass": "keda"},
    )


def _kserve_keda_metrics(plan: StackPlan, model: ModelPlan) -> list[dict[str, Any]]:
    """`predictor.autoScaling.metrics` for KServe's own KEDA integration (v0.15+).

    KServe turns each External metric into a prometheus trigger with
    `threshold` = target.value and KEDA's default AverageValue, i.e. divided by
    the replica count; TTFT is not additive, so its query is multiplied by the
    replica count to make KEDA compare the latency itself with the target.
    """
    scaling = model.scaling
    keda = plan.keda_config
    query = keda_query(model, scaling.metric)
    if scaling.metric == "ttft":
        query = f"({query}) * {_replica_count(model)}"
    metrics = [_external(keda.prometheus_address, query, scaling.target)]
    if scaling.scale_to_zero:
        metrics.append(_external(keda.prometheus_address, keda.wake_query, 1))
    return metrics


def _external(address: str, query: str, threshold: int) -> dict[str, Any]:
    return {
        "type": "External",
        "external": {
            "metric": {"backend": "prometheus", "serverAddress": address, "query": query},
            "target": {"type": "Value", "value": str(threshold)},
        },
    }


def scaled_object(plan: StackPlan, model: ModelPlan) -> dict[str, Any] | None:
    """KEDA ScaledObject for KServe versions without the keda autoscaler class (v0.13, v0.14)."""
    scaling = model.scaling
    if scaling.engine != "keda" or plan.release.supports_keda_autoscaler_class:
        return None
    keda = plan.keda_config
    main: dict[str, Any] = {
        "type": "prometheus",
        "name": f"{model.backend}-{scaling.metric}",
        "metadata": {
            "serverAddress": keda.prometheus_address,
            "query": keda_query(model, scaling.metric),
            "threshold": str(scaling.target),
        },
    }
    if scaling.metric == "ttft":
        # Latency is compared as is, not divided by the replica count.
        main["metricType"] = "Value"
    triggers = [main]
    if scaling.scale_to_zero:
        triggers.append({
            "type": "prometheus",
            "name": "wake",
            "metadata": {
                "serverAddress": keda.prometheus_address,
                "query": keda.wake_query,
                "threshold": "1",
                "activationThreshold": "0",
            },
        })
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {
            "name": model.name,
            "namespace": model.namespace,
            "labels": naming.labels(model.name, "autoscaler"),
        },
        "spec": {
            # KServe's RawDeployment predictor Deployment.
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{model.name}-predictor"},
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": scaling.max_replicas,
            "pollingInterval": POLLING_SECONDS,
            "cooldownPeriod": COOLDOWN_SECONDS,
            "triggers": triggers,
        },
    }


def keda_namespace() -> dict[str, Any]:
    return namespace(KEDA_NAMESPACE, "autoscaler")


def keda_release(plan: StackPlan) -> HelmRelease:
    keda = plan.keda_config
    return chart_release(
        plan, "keda", KEDA_REPOSITORY,
        version=keda.version or plan.release.keda_chart_version,
        namespace=KEDA_NAMESPACE,
    )
