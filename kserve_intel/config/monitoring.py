"""`monitoring`: PodMonitor, PrometheusRule and the Grafana dashboard (rules/monitoring.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .values import DnsLabel, Duration, LabelMap, Strict


class AlertsConfig(Strict):
    """PrometheusRule thresholds (see docs/monitoring.md)."""

    enabled: bool = True
    """Create the PrometheusRule. The thresholds below must not be set while `false`."""
    not_ready_for: Duration = "15m"
    """`KServeIntelModelNotReady` (critical) fires when a model has had no available replica this long."""
    for_: Duration = Field(default="10m", alias="for")
    """How long the performance conditions below must hold before their alert fires."""
    waiting_requests: int = Field(default=10, ge=1, le=100_000)
    """`KServeIntelRequestsQueueing` fires above this many waiting requests per model."""
    ttft_p95_seconds: float = Field(default=5.0, gt=0, le=3_600)
    """`KServeIntelTimeToFirstTokenHigh` fires when the p95 time to first token exceeds this (seconds)."""
    kv_cache_usage: float = Field(default=0.9, gt=0, le=1)
    """`KServeIntelKVCacheNearlyFull` fires when a replica's KV-cache usage exceeds this fraction (0-1)."""
    restarts_per_hour: int = Field(default=3, ge=1, le=1_000)
    """`KServeIntelPodRestarting` fires when a vLLM container restarted at least this often in the last hour."""


class GrafanaDashboardConfig(Strict):
    """The per-stack vLLM dashboard."""

    enabled: bool = True
    """Create the Grafana dashboard. The keys below must not be set while `false`."""
    mode: Literal["configmap", "operator"] = "configmap"
    """`configmap`: a ConfigMap for Grafana's dashboard sidecar (kube-prometheus-stack). `operator`: a
    `GrafanaDashboard` for the Grafana Operator v5.
    """
    namespace: DnsLabel | None = None
    """Namespace of the dashboard object (must exist), e.g. Grafana's own when its sidecar watches one namespace only.
    Default: the model namespace.
    """
    sidecar_label: LabelMap = Field(default_factory=lambda: {"grafana_dashboard": "1"})
    """`configmap` mode only: the label Grafana's sidecar looks for."""
    instance_selector: LabelMap = Field(default_factory=lambda: {"dashboards": "grafana"})
    """`operator` mode only: labels of the `Grafana` instances that load the dashboard."""


class MonitoringConfig(Strict):
    """PodMonitor, PrometheusRule and Grafana dashboard (need the Prometheus Operator)."""

    enabled: bool = False
    """Create the [monitoring](monitoring.md) objects: a PodMonitor, and by default a PrometheusRule and a Grafana
    dashboard. Needs the Prometheus Operator CRDs in the cluster. Every other `monitoring.*` key is refused while
    this is `false`.
    """
    prometheus_selector: LabelMap = Field(default_factory=lambda: {"release": "observability"})
    """Labels put on the PodMonitor and PrometheusRule so the cluster's Prometheus selects them (kube-prometheus-stack
    selects `release: <its release name>`; Intel's observability stack is the release `observability`).
    """
    interval: Duration = "30s"
    """Scrape interval of vLLM's `/metrics` (a Prometheus duration)."""
    scrape_timeout: Duration = "10s"
    """Scrape timeout; at most `interval`."""
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    """The PrometheusRule and its thresholds."""
    grafana_dashboard: GrafanaDashboardConfig = Field(default_factory=GrafanaDashboardConfig)
    """The Grafana dashboard: ConfigMap for the sidecar or GrafanaDashboard for the operator."""
