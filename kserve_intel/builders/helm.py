"""Helm releases and the namespaces they go into: what every installed chart shares (cert-manager, KServe,
the local model cache, Knative's operator, KEDA)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import naming
from ..catalog.charts import locate
from ..plan import StackPlan
from .images import chart_image_values, merge


@dataclass(frozen=True)
class HelmRelease:
    """A Helm release as `helm upgrade --install` would take it."""

    name: str
    chart: str
    version: str
    namespace: str
    values: dict[str, Any] = field(default_factory=dict)
    repository: str | None = None
    # Minutes Helm may wait for the release's workloads to become ready.
    timeout_minutes: int = 10


def namespace(name: str, component: str, extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {**naming.labels(name, component), **(extra_labels or {})},
        },
    }


def chart_release(plan: StackPlan, name: str, repository: str, version: str, namespace: str, **extra: Any) -> HelmRelease:
    """A release of the chart of the same name, from its upstream repository or the stack's mirror for it.

    Its images go in as the stack applies them (mirrored, pinned by digest) through the chart's own values keys
    (builders/images.py), beside the values the caller gives."""
    chart, repo = locate(plan.config.chart_repositories, name, name, repository)
    image_values = chart_image_values(plan, name, version)
    if image_values:
        extra["values"] = merge(extra.get("values") or {}, image_values)
    return HelmRelease(name=name, chart=chart, repository=repo, version=version, namespace=namespace, **extra)
