"""`monitoring`: what the cluster's Prometheus and Grafana need to pick the objects up."""

from __future__ import annotations

from typing import Iterable

from pydantic.alias_generators import to_camel

from ..config.monitoring import GrafanaDashboardConfig, MonitoringConfig
from ..config.values import duration_seconds
from ..errors import ConfigIssue
from .no_effect import unused_keys


def monitoring_checks(monitoring: MonitoringConfig) -> Iterable[ConfigIssue]:
    if not monitoring.enabled:
        yield from unused_keys(monitoring, "monitoring", "unless monitoring.enabled is true")
        return
    if not monitoring.prometheus_selector:
        yield ConfigIssue(
            "monitoring.prometheusSelector", "must name at least one label: the cluster's Prometheus selects "
            "PodMonitors and PrometheusRules by it (kube-prometheus-stack: release: <its release name>)", {},
        )
    if duration_seconds(monitoring.scrape_timeout) > duration_seconds(monitoring.interval):
        yield ConfigIssue(
            "monitoring.scrapeTimeout", f"must not exceed monitoring.interval ({monitoring.interval})",
            monitoring.scrape_timeout,
        )
    alerts = monitoring.alerts
    if not alerts.enabled:
        yield from unused_keys(alerts, "monitoring.alerts", "unless monitoring.alerts.enabled is true")
    dashboard = monitoring.grafana_dashboard
    unused = {"configmap": ("instance_selector",), "operator": ("sidecar_label",)}[dashboard.mode]
    if not dashboard.enabled:
        unused = tuple(n for n in GrafanaDashboardConfig.model_fields if n != "enabled")
    for name in unused:
        if dashboard.explicitly_set(name):
            reason = ("monitoring.grafanaDashboard.enabled is false" if not dashboard.enabled
                      else f"monitoring.grafanaDashboard.mode is {dashboard.mode!r}")
            yield ConfigIssue(
                f"monitoring.grafanaDashboard.{to_camel(name)}", f"has no effect when {reason}; remove it",
                getattr(dashboard, name),
            )
    if dashboard.enabled:
        selector = dashboard.instance_selector if dashboard.mode == "operator" else dashboard.sidecar_label
        if not selector:
            key = "instanceSelector" if dashboard.mode == "operator" else "sidecarLabel"
            yield ConfigIssue(
                f"monitoring.grafanaDashboard.{key}", "must name at least one label, or Grafana never loads "
                "the dashboard", {},
            )
