"""`storage`: the per-model cache volume (a PersistentVolumeClaim, or an emptyDir)."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from .values import Quantity, Strict, check_dns_subdomain


class StorageConfig(Strict):
    """The per-model Hugging Face cache volume."""

    enabled: bool = True
    size: Quantity = "100Gi"
    storage_class: str = ""
    access_mode: Literal["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"] = "ReadWriteOnce"
    # Keep the claims (and the namespace that holds them) on `pulumi destroy`
    # and when a model leaves `models`: weights took hours to download.
    retain_on_destroy: bool = True

    @field_validator("storage_class")
    @classmethod
    def _class_name(cls, value: str) -> str:
        return value if value == "" else check_dns_subdomain(value)
