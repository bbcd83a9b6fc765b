"""`monitoring`: PodMonitor, PrometheusRule and the Grafana dashboard (rules/monitoring.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .values import DnsLabel, Duration, LabelMap, Strict


class AlertsConfig(Strict):
    """PrometheusRule thresholds (see README "Monitoring")."""

    enabled: bool = True
    # A model with no available replica for this long.
    not_ready_for: Duration = "15m"
    # How long a performance condition must hold before it fires.
    for_: Duration = Field(default="10m", alias="for")
    waiting_requests: int = Field(default=10, ge=1, le=100_000)
    ttft_p95_seconds: float = Field(default=5.0, gt=0, le=3_600)
    kv_cache_usage: float = Field(default=0.9, gt=0, le=1)
    restarts_per_hour: int = Field(default=3, ge=1, le=1_000)


class GrafanaDashboardConfig(Strict):
    """The per-stack vLLM dashboard."""

    enabled: bool = True
    # configmap: a ConfigMap for Grafana's dashboard sidecar (kube-prometheus-stack);
    # operator: a GrafanaDashboard resource for the Grafana Operator (v5).
    mode: Literal["configmap", "operator"] = "configmap"
    # Where the dashboard object lives; default: the models' namespace.
    namespace: DnsLabel | None = None
    sidecar_label: LabelMap = Field(default_factory=lambda: {"grafana_dashboard": "1"})
    instance_selector: LabelMap = Field(default_factory=lambda: {"dashboards": "grafana"})


class MonitoringConfig(Strict):
    """PodMonitor, PrometheusRule and Grafana dashboard (need the Prometheus Operator)."""

    enabled: bool = False
    # Labels the cluster's Prometheus selects monitors and rules by.
    prometheus_selector: LabelMap = Field(default_factory=lambda: {"release": "observability"})
    interval: Duration = "30s"
    scrape_timeout: Duration = "10s"
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    grafana_dashboard: GrafanaDashboardConfig = Field(default_factory=GrafanaDashboardConfig)
