"""`localModelCache` and `models[].localCache`: KServe's local model cache, v0.15+ (rules/local_model_cache.py)."""

from __future__ import annotations

from pydantic import Field, field_validator

from .values import AbsolutePath, DnsLabel, LabelMap, Quantity, Strict, check_dns_subdomain


class ModelLocalCacheConfig(Strict):
    """This model's weights are kept on the node group's local disks (a LocalModelCache)."""

    size: Quantity
    """Disk the weights take on each cache node (KServe `modelSize`); required."""


class LocalModelNodeGroupConfig(Strict):
    """The nodes that keep cached weights on a local disk (a LocalModelNodeGroup)."""

    name: DnsLabel = "kserve-intel"
    """Name of the `LocalModelNodeGroup` (cluster-scoped)."""
    local_path: AbsolutePath = "/mnt/models"
    """Directory on each node that holds the cached weights: the local PersistentVolume's path and the node agent's
    `hostPath`. Must be owned by UID/GID 1000 on the nodes.
    """
    size: Quantity = "1Ti"
    """Disk reserved on each node (`storageLimit`, PV capacity, claim size); at least the sum of the cached models'
    `localCache.size`.
    """
    storage_class: str = "local-storage"
    """`storageClassName` of the local PV and its claims (a no-provisioner class, `volumeBindingMode:
    WaitForFirstConsumer`).
    """
    node_selector: LabelMap | None = None
    """Labels of the nodes that cache the weights (PV node affinity and node agent `nodeSelector`). From KServe v0.17
    the label `kserve/localmodel: worker` is added (the chart's agent always selects it). Default: the runtime's
    node selector.
    """

    @field_validator("storage_class")
    @classmethod
    def _class_name(cls, value: str) -> str:
        return check_dns_subdomain(value)


class LocalModelCacheConfig(Strict):
    """KServe's local model cache (v0.15+): weights pre-loaded on node-local disks."""

    enabled: bool = False
    """Install KServe's local model controller and create the node group and one `LocalModelCache` per model with
    `localCache` (KServe v0.15+, with `kserve.install: true`; at least one model must set `localCache`). The keys
    below must not be set while `false`.
    """
    job_namespace: DnsLabel = "kserve-localmodel-jobs"
    """Namespace of KServe's download jobs (chart value `kserve.localmodel.jobNamespace`); the `hf-token` Secret is
    copied there. Not `namespace` nor `kserve.namespace`.
    """
    node_group: LocalModelNodeGroupConfig = Field(default_factory=LocalModelNodeGroupConfig)
    """The LocalModelNodeGroup: nodes, path, size and storage class of the cache."""
