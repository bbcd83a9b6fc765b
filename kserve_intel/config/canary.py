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
    """Share of the traffic the canary serves (0-100, required); `0` rolls back."""
    name: DnsLabel | None = None
    """Names the canary Deployment `<model>-<name>-predictor` (Standard mode only)."""
    image: Image | None = None
    """Image the canary runs instead of the model's."""
    revision: Revision | None = None
    """Hugging Face commit or tag of the canary's weights."""
    extra_args: list[str] | None = None
    """The canary's extra server flags; replaces the model's `extraArgs`."""
    env: dict[str, str] | None = None
    """The canary's environment, merged over the model's `env`."""
    source: RegistrySource | None = None
    """Another alias or version of the model's `source` for the canary, e.g. `{alias: challenger}`."""
    adapters: list[AdapterConfig] | None = None
    """Another adapter set on the same base for the canary. Default: the model's."""

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
