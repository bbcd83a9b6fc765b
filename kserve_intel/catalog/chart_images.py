"""The images inside the Helm charts the program installs, at the versions it pins (data/chart_images.yaml).

Each image of a chart version has a role, the reference the chart deploys by default, whether a pod runs it
(`runs`: true, when-used, when-enabled, false) and the values keys that set it, so `images.mirrors` and the
digests resolved at deploy time reach it through the release's values. Knative Serving is not a chart: the
operator installs it from manifests it ships, pinned by digest; its images are listed per Serving version and
networking layer, with the `KnativeServing.spec.registry.override` key that replaces each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

DATA = Path(__file__).resolve().parent / "data" / "chart_images.yaml"


@dataclass(frozen=True)
class ChartImage:
    """One image a chart can deploy."""

    chart: str
    version: str
    role: str
    image: str
    # True, "when-used", "when-enabled" or False (see chart_images.yaml how_to_read).
    runs: bool | str
    # Values keys (dotted) that set it: repository/tag, image (one key), registry, digest...; empty: hard-coded.
    values: Mapping[str, str]
    where: str = ""


# KServe v0.13.x deploys gcr.io/kubebuilder/kube-rbac-proxy:v0.13.1 beside the controller; that image family was
# announced unavailable with the gcr.io shutdown (kubernetes-sigs/kubebuilder discussion #3907). KServe v0.14.0's
# chart runs quay.io/brancz/kube-rbac-proxy:v0.18.0 with the same four arguments (charts/kserve-resources/
# templates/deployment.yaml l.61-67 at v0.14.0; l.43-49 at v0.13.0), so the program sets that image instead.
REPLACEMENTS: Mapping[str, str] = MappingProxyType({
    "gcr.io/kubebuilder/kube-rbac-proxy:v0.13.1": "quay.io/brancz/kube-rbac-proxy:v0.18.0",
})


# KnativeServing.spec.registry.override keys, `<deployment or job generateName>/<container>` (the operator looks
# them up first: pkg/reconciler/common/images.go l.107-117 at knative-v1.21.1; names from its kodata manifests).
KNATIVE_OVERRIDE_KEYS: Mapping[str, str] = MappingProxyType({
    "activator": "activator/activator",
    "autoscaler": "autoscaler/autoscaler",
    "controller": "controller/controller",
    "webhook": "webhook/webhook",
    "autoscaler-hpa": "autoscaler-hpa/autoscaler-hpa",
    "migrate": "storage-version-migration-serving-/migrate",
    "cleanup": "cleanup-serving-/cleanup",
    "kourier/net-kourier-controller": "net-kourier-controller/controller",
    "kourier/3scale-kourier-gateway": "3scale-kourier-gateway/kourier-gateway",
    "istio/controller": "net-istio-controller/controller",
    "istio/webhook": "net-istio-webhook/webhook",
})
# The queue-proxy sidecar beside every Knative predictor pod comes from config-deployment `queue-sidecar-image`.
QUEUE_PROXY_ROLE = "queue-proxy"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text())


def chart_versions(chart: str) -> tuple[str, ...]:
    return tuple(_data()["charts"].get(chart, {}))


def images(chart: str, version: str) -> tuple[ChartImage, ...] | None:
    """Every image of `chart` at `version`; None when that version is not in the catalogue."""
    entry = _data()["charts"].get(chart, {}).get(version)
    if entry is None:
        return None
    return tuple(
        ChartImage(chart, version, item["role"], item["image"], item["runs"],
                   MappingProxyType(dict(item.get("values") or {})), item.get("where", ""))
        for item in entry.get("images") or ()
    )


def knative_serving_images(version: str, layer: str) -> tuple[ChartImage, ...] | None:
    """The images the Knative operator deploys for Serving `version` with networking layer `layer`."""
    entry = _data()["knative_serving"]["versions"].get(version)
    if entry is None:
        return None
    found: list[ChartImage] = []
    for item in entry["images"]:
        role = item["role"]
        if role.startswith("queue-sidecar-image"):
            continue  # the same image as queue-proxy, named in config-deployment
        key = KNATIVE_OVERRIDE_KEYS.get(role)
        found.append(ChartImage("knative-serving", version, role, item["image"], True,
                                MappingProxyType({"override": key} if key else {})))
    for item in entry.get("ingress", {}).get(layer, ()):
        key = KNATIVE_OVERRIDE_KEYS[f"{layer}/{item['role']}"]
        found.append(ChartImage("knative-serving", version, f"{layer}/{item['role']}", item["image"], True,
                                MappingProxyType({"override": key})))
    return tuple(found)
