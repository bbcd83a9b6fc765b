"""`localModelCache` and `models[].localCache`: KServe's local model cache, v0.15+ (rules/local_model_cache.py)."""

from __future__ import annotations

from pydantic import Field, field_validator

from .values import AbsolutePath, DnsLabel, LabelMap, Quantity, Strict, check_dns_subdomain


class ModelLocalCacheConfig(Strict):
    """This model's weights are kept on the node group's local disks (a LocalModelCache)."""

    # Disk the weights take on each node (LocalModelCache.spec.modelSize).
    size: Quantity


class LocalModelNodeGroupConfig(Strict):
    """The nodes that keep cached weights on a local disk (a LocalModelNodeGroup)."""

    name: DnsLabel = "kserve-intel"
    # Directory on each node that holds the cache: the local PersistentVolume's path and the
    # hostPath of KServe's node agent.
    local_path: AbsolutePath = "/mnt/models"
    # Disk reserved for cached models on each node (storageLimit, PV capacity and claim size).
    size: Quantity = "1Ti"
    storage_class: str = "local-storage"
    # Nodes of the group; default: the runtime's node selector.
    node_selector: LabelMap | None = None

    @field_validator("storage_class")
    @classmethod
    def _class_name(cls, value: str) -> str:
        return check_dns_subdomain(value)


class LocalModelCacheConfig(Strict):
    """KServe's local model cache (v0.15+): weights pre-loaded on node-local disks."""

    enabled: bool = False
    # Namespace of KServe's download jobs (chart value kserve.localmodel.jobNamespace).
    job_namespace: DnsLabel = "kserve-localmodel-jobs"
    node_group: LocalModelNodeGroupConfig = Field(default_factory=LocalModelNodeGroupConfig)
