"""`storage`: the per-model cache volume (a PersistentVolumeClaim, or an emptyDir)."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from .values import Quantity, Strict, check_dns_subdomain


class StorageConfig(Strict):
    """The per-model Hugging Face cache volume."""

    enabled: bool = True
    """One PersistentVolumeClaim per model for the Hugging Face cache (mounted at `/data`, `HF_HOME=/data`). `false`:
    an `emptyDir` of `storage.size` (weights are downloaded again on every restart).
    """
    size: Quantity = "100Gi"
    """Size of each model's cache (a Kubernetes quantity: `100Gi`, not `100GB`)."""
    storage_class: str = ""
    """StorageClass of the claims; empty uses the cluster default."""
    access_mode: Literal["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"] = "ReadWriteOnce"
    """`ReadWriteOnce`, `ReadWriteMany` or `ReadWriteOncePod`. With more than one replica use `ReadWriteMany`."""
    retain_on_destroy: bool = True
    """Keep each model's cache claim, and the model namespace that holds the claims, when the stack is destroyed or a
    model is removed from `models` (Pulumi forgets them instead of deleting them). `false`: they are deleted. See
    [Uninstall](uninstall.md).
    """

    @field_validator("storage_class")
    @classmethod
    def _class_name(cls, value: str) -> str:
        return value if value == "" else check_dns_subdomain(value)
