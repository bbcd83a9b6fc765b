"""Monitoring: the stack's PodMonitor, PrometheusRule and Grafana dashboard."""

from __future__ import annotations

import pulumi

from kserve_intel.builders import monitoring as build
from kserve_intel.plan import StackPlan

from .manifests import apply, child_options


class Monitoring(pulumi.ComponentResource):
    """Scraping, alerts and the dashboard for every model of the stack.

    Registers nothing unless `monitoring.enabled`. It waits for the models'
    namespace only (not for the models, which can take an hour to become
    Ready): the dashboard and alerts exist while the models start, and
    `pulumi destroy` removes them before the namespace.
    """

    def __init__(self, name: str, plan: StackPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kserve-intel:index:Monitoring", name, None, opts)
        config = plan.config.monitoring
        self.pod_monitor = self.rule = self.dashboard = None
        if config.enabled:
            monitor = build.pod_monitor(plan)
            if monitor is not None:
                self.pod_monitor = apply(monitor, child_options(self, opts))
            if config.alerts.enabled:
                self.rule = apply(build.prometheus_rule(plan), child_options(self, opts))
            if config.grafana_dashboard.enabled:
                self.dashboard = apply(build.grafana_dashboard(plan), child_options(self, opts))
        self._summary = _summary(plan)
        self.register_outputs(self._summary)

    def summary(self) -> dict[str, object]:
        """The stack output: what to look for in Prometheus and Grafana."""
        return self._summary


def _summary(plan: StackPlan) -> dict[str, object]:
    config = plan.config.monitoring
    if not config.enabled:
        return {"enabled": False}
    monitor = build.pod_monitor(plan)
    out: dict[str, object] = {"enabled": True}
    if monitor is not None:
        out["podMonitor"] = monitor["metadata"]["name"]
    out["prometheusSelector"] = dict(config.prometheus_selector)
    if config.alerts.enabled:
        out["prometheusRule"] = build.prometheus_rule(plan)["metadata"]["name"]
    if config.grafana_dashboard.enabled:
        out["dashboardUid"] = build.dashboard_uid(plan.config.namespace)
    return out
