"""KServe's storage initializer with an `hfEndpoint` mirror (KServe v0.20+).

The storage initializer (an init container of the predictor pod) downloads `predictor.storageUris`; for
`hf://` it runs huggingface_hub's snapshot_download, which reads HF_ENDPOINT. Its credential builder passes
only HF_TOKEN (pkg/credentials/hf/hf_secret.go, v0.16-v0.20), so the mirror reaches it through a
ClusterStorageContainer: KServe merges that container (env included) into the init container
(v0.20.0 pkg/webhook/admission/pod/storage_initializer_injector.go:626-632) and, from v0.20, an
InferenceService names it with `predictor.storageContainerName` (pkg/apis/serving/v1beta1/predictor.go:68-73;
components/predictor.go:783). Before v0.20 the first matching container wins in no defined order, beside
KServe's own `default` for `hf://`, so there vLLM downloads hub adapters itself (rules/lora.py).

The container matches only the exact URIs this stack downloads (a regex), so another tenant's `hf://`
download never picks it up by URI; it is cluster-scoped and named per model namespace.
"""

from __future__ import annotations

import re
from typing import Any

from .. import naming
from ..catalog.kserve import HF_URI_PREFIX
from ..plan import StackPlan, fetched_sources
from .pod import hub_env

# KServe's `default` storage container's resources (config/storagecontainers/default.yaml, v0.20.0).
_RESOURCES = {"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def storage_container_name(plan: StackPlan) -> str:
    return naming.fit(f"kserve-intel-hf-mirror-{plan.config.namespace}", naming.DNS_LABEL_MAX,
                      f"hf-mirror/{plan.config.namespace}")


def _hub_uris(plan: StackPlan) -> list[str]:
    """The hf:// adapters the storage initializer downloads (models' and canaries' storageUris)."""
    uris = []
    for model in plan.models:
        for lora in (model.lora, model.canary.lora if model.canary is not None else None):
            if lora is not None and lora.via_storage_uris:
                uris += [item["uri"] for item in lora.storage_uris if item["uri"].startswith(HF_URI_PREFIX)]
    return list(dict.fromkeys(uris))


def needs_storage_container(plan: StackPlan) -> bool:
    """A mirror, KServe v0.20+, and some hub adapter that the storage initializer downloads."""
    return bool(hub_env(plan)) and plan.release.supports_storage_container_name and bool(_hub_uris(plan))


def storage_container(plan: StackPlan) -> dict[str, Any]:
    """KServe's storage initializer with HF_ENDPOINT, for exactly the URIs of this stack's predictors."""
    # The storage initializer checks the first URI of a predictor's storageUris against it: a registry base
    # joins that list first (builders/registry.py), so every store URI of the stack is listed too.
    uris = [*dict.fromkeys(uri for _, uri in fetched_sources(plan.models)), *_hub_uris(plan)]
    name = storage_container_name(plan)
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterStorageContainer",
        "metadata": {"name": name, "labels": {**naming.labels(name, "storage-initializer"),
                                              "kserve-intel/namespace": plan.config.namespace}},
        "spec": {
            "container": {
                "name": "storage-initializer",
                "image": plan.release.storage_initializer_image,
                "imagePullPolicy": "IfNotPresent",
                "env": [*hub_env(plan), {"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"}],
                "resources": {kind: dict(values) for kind, values in _RESOURCES.items()},
            },
            "supportedUriFormats": [{"regex": "^(?:" + "|".join(re.escape(u) for u in uris) + ")$"}],
            "supportsMultiModelDownload": True,
            "workloadType": "initContainer",
        },
    }


def apply_storage_container(plan: StackPlan, isvc: dict[str, Any]) -> dict[str, Any]:
    """Name the mirror's storage container on every predictor that downloads a hub adapter."""
    if not needs_storage_container(plan):
        return isvc
    spec = isvc["spec"]
    for predictor in [spec["predictor"], *(item["predictor"] for item in spec.get("canary", []))]:
        if any(item["uri"].startswith(HF_URI_PREFIX) for item in predictor.get("storageUris", [])):
            predictor["storageContainerName"] = storage_container_name(plan)
    return isvc
