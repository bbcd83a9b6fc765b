"""`models[].canary`: a new version of the model beside the stable one (rules/canary.py)."""

from __future__ import annotations

from pydantic import Field, field_validator

from .lora import AdapterConfig
from .registry import RegistrySource
from .reserved import check_env, check_extra_args
from .values import DnsLabel, Image, Revision, Strict


class CanaryConfig(Strict):
    """A new version of the model served beside the stable one with a share of the traffic."""

    traffic_percent: int = Field(ge=0, le=100)
    # Name of the canary predictor (KServe v0.20 Standard mode: Deployment <model>-<name>-predictor).
    name: DnsLabel | None = None
    image: Image | None = None
    revision: Revision | None = None
    extra_args: list[str] | None = None
    env: dict[str, str] | None = None
    # Another registry alias or version of the model's source (rules/registry.py).
    source: RegistrySource | None = None
    # Another adapter set on the same base (rules/lora.py); None: the model's adapters.
    adapters: list[AdapterConfig] | None = None

    @field_validator("extra_args")
    @classmethod
    def _no_reserved_args(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_extra_args(value)

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else check_env(value)

    @property
    def changes(self) -> bool:
        return any(v is not None for v in (self.image, self.revision, self.extra_args, self.env, self.source, self.adapters))
