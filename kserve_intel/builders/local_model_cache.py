"""KServe's local model cache (v0.15+): the node group, one LocalModelCache per
cached model, the download credentials, the controller's Helm values, and the
InferenceService changes that make KServe mount the node-local copy.

How KServe uses them: the localmodel controller creates a download Job per
node of the group (namespace `jobNamespace`) that runs the storage initializer
on `sourceModelUri` into `<localPath>/models/<cache name>` on the node. When an
InferenceService's `storageUri` matches a cache, KServe mounts that directory
(through a PV/PVC built from the node group's specs) at `/mnt/models` and keeps
the predictor on the group's nodes, so no replica downloads the weights.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..rules.local_model_cache import NodeGroupPlan
from .mounted import serve_from_mount
from ..plan import ModelPlan, StackPlan
from ..catalog.kserve import CHART_REPOSITORY
from .helm import HelmRelease, chart_release, namespace
from .pod import hub_env

DOWNLOAD_CONTAINER = "kserve-intel-hf-download"
LOCALMODEL_CRD_CHART = "kserve-localmodel-crd"
LOCALMODEL_RESOURCES_CHART = "kserve-localmodel-resources"
# KServe's download jobs match storage containers by URI prefix.
HF_PREFIX = "hf://"


def _group(plan: StackPlan) -> NodeGroupPlan:
    group = plan.local_model_cache
    if group is None:
        raise ValueError("the stack has no local model cache")
    return group


def cache_name(plan: StackPlan, model: ModelPlan) -> str:
    """Cluster-scoped name, unique per model namespace (two stacks may cache a same-named model)."""
    return naming.fit(f"{model.name}-{model.namespace}", naming.DNS_LABEL_MAX, f"{model.namespace}/{model.name}")


def node_group(plan: StackPlan) -> dict[str, Any]:
    """Where the weights are kept: a local PersistentVolume on each node of the group."""
    group = _group(plan)
    match = [{"key": key, "operator": "In", "values": [value]} for key, value in sorted(group.node_selector.items())]
    spec: dict[str, Any] = {
        "storageLimit": group.size,
        "persistentVolumeSpec": {
            "accessModes": ["ReadWriteOnce"],
            "volumeMode": "Filesystem",
            "capacity": {"storage": group.size},
            "local": {"path": group.local_path},
            "storageClassName": group.storage_class,
            "persistentVolumeReclaimPolicy": "Retain",
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": match}]}},
        },
        "persistentVolumeClaimSpec": {
            "accessModes": ["ReadWriteOnce"],
            "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": group.size}},
            "storageClassName": group.storage_class,
        },
    }
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "LocalModelNodeGroup",
        "metadata": {"name": group.name, "labels": naming.labels(group.name, "local-model-node-group")},
        "spec": spec,
    }


def model_cache(plan: StackPlan, model: ModelPlan) -> dict[str, Any]:
    """Pre-loads one model's weights (at its revision) on every node of the group."""
    group = _group(plan)
    name = cache_name(plan, model)
    labels = naming.labels(model.name, "local-model-cache")
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "LocalModelCache",
        "metadata": {
            "name": name,
            "labels": {**labels, "kserve-intel/namespace": model.namespace},
            "annotations": {"kserve-intel/model-id": model.id},
        },
        "spec": {
            "sourceModelUri": model.source_uri,
            "modelSize": model.local_cache_size,
            "nodeGroups": [group.name],
        },
    }


def job_namespace(plan: StackPlan) -> dict[str, Any]:
    """The download jobs' namespace (the v0.15/v0.16 `kserve` chart creates it itself)."""
    group = _group(plan)
    manifest = namespace(group.job_namespace, "local-model-download")
    # KServe's download pods run the storage initializer non-root with fsGroup only.
    manifest["metadata"]["labels"].update({
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/warn": "restricted",
    })
    return manifest


def job_token_secret(plan: StackPlan) -> dict[str, Any]:
    """The Hugging Face token for the download jobs; the component adds the value as a Pulumi secret."""
    group = _group(plan)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": naming.HF_TOKEN_SECRET,
            "namespace": group.job_namespace,
            "labels": naming.labels(naming.HF_TOKEN_SECRET, "credentials"),
        },
        "type": "Opaque",
    }


def needs_download_container(plan: StackPlan) -> bool:
    """Whether the download jobs need our container: for the token, or for an `hfEndpoint` mirror."""
    return plan.config.hf_token is not None or bool(hub_env(plan))


def download_container(plan: StackPlan) -> dict[str, Any]:
    """The container KServe runs for every `hf://` local-model download job, with HF_TOKEN and HF_ENDPOINT.

    KServe's localmodelnode controller picks a ClusterStorageContainer with `workloadType:
    localModelDownloadJob` whose prefix matches the cache's URI and runs its container as is, env included
    (v0.15.2-v0.19.0 pkg/controller/v1alpha1/localmodelnode/controller.go getContainerSpecForStorageUri and
    launchJob; v0.20.0 the same file :138 and :278-300); without one it runs the plain storage initializer,
    which has neither the token nor the mirror. huggingface_hub's snapshot_download in the storage initializer
    (kserve_storage.py _download_hf) reads HF_ENDPOINT.
    """
    env: list[dict[str, Any]] = list(hub_env(plan))
    if plan.config.hf_token is not None:
        env.append({"name": naming.HF_TOKEN_KEY,
                    "valueFrom": {"secretKeyRef": {"name": naming.HF_TOKEN_SECRET, "key": naming.HF_TOKEN_KEY}}})
    env.append({"name": "HF_HUB_DISABLE_TELEMETRY", "value": "1"})
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterStorageContainer",
        "metadata": {"name": DOWNLOAD_CONTAINER, "labels": naming.labels(DOWNLOAD_CONTAINER, "local-model-download")},
        "spec": {
            "container": {
                "name": "storage-initializer",
                "image": plan.release.storage_initializer_image,
                "env": env,
                "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "privileged": False,
                    "runAsNonRoot": True,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            },
            "supportedUriFormats": [{"prefix": HF_PREFIX}],
            "workloadType": "localModelDownloadJob",
        },
    }


def apply_local_cache(plan: StackPlan, model: ModelPlan, isvc: dict[str, Any]) -> dict[str, Any]:
    """Load the weights from the node-local copy KServe mounts at /mnt/models."""
    if not model.local_cache:
        return isvc
    # The revision is part of the URI: the cached copy is already at it.
    serve_from_mount(isvc["spec"]["predictor"]["model"], model.source_uri)
    return isvc


# --- Helm -------------------------------------------------------------------------------


def _agent_values(group: NodeGroupPlan) -> dict[str, Any]:
    values: dict[str, Any] = {"hostPath": group.local_path, "nodeSelector": dict(group.node_selector)}
    if group.tolerations:
        values["tolerations"] = [dict(t) for t in group.tolerations]
    return values


def controller_values(plan: StackPlan) -> dict[str, Any]:
    """`kserve.localmodel` of the KServe controller chart; {} without a cache."""
    group = plan.local_model_cache
    if group is None:
        return {}
    values: dict[str, Any] = {"enabled": True, "jobNamespace": group.job_namespace}
    if not plan.release.localmodel_separate_charts:
        # v0.15/v0.16: the `kserve` chart runs the controller and the node agent itself.
        values["agent"] = _agent_values(group)
    return values


def localmodel_crd_release(plan: StackPlan) -> HelmRelease:
    return chart_release(
        plan, LOCALMODEL_CRD_CHART, CHART_REPOSITORY,
        version=plan.release.tag,
        namespace=plan.config.kserve.namespace,
    )


def localmodel_release(plan: StackPlan) -> HelmRelease:
    """The localmodel controller and node agent (v0.17+); the agent's disk is the group's local path."""
    group = _group(plan)
    agent = _agent_values(group)
    return chart_release(
        plan, LOCALMODEL_RESOURCES_CHART, CHART_REPOSITORY,
        version=plan.release.tag,
        namespace=plan.config.kserve.namespace,
        values={
            "kserve": {
                "version": plan.release.tag,
                # The controller release owns inferenceservice-config, the issuer and the storage containers.
                "createSharedResources": False,
                "localmodel": {"enabled": True, "jobNamespace": group.job_namespace, "agent": agent},
                "localmodelnode": {"controller": dict(agent)},
            },
        },
    )
