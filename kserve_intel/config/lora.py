"""`models[].adapters` and `models[].lora`: LoRA adapters on a model's base (rules/lora.py).

An adapter's weights come from the hub (`id`, `revision`) or from the MLflow registry (`source`).
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from .registry import RegistrySource
from .values import Strict, check_hf_id, check_revision


# Where KServe mounts each adapter (storageUris need one parent other than "/": /mnt/lora).
ADAPTER_MOUNT_PARENT = "/mnt/lora"


# Flags this module owns: set in extraArgs they would fight `adapters` and `lora`.
RESERVED_LORA_ARGS = {
    "--enable-lora": "adapters",
    "--lora-modules": "adapters",
    "--max-loras": "lora.maxLoras",
    "--max-lora-rank": "lora.maxLoraRank",
    "--max-cpu-loras": "lora.maxCpuLoras",
}


# A served name clients send as `model`: no whitespace, no "=" or "," (vllm:lora_requests_info
# joins adapter names with ","), no quotes.
_SERVED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$")


class AdapterConfig(Strict):
    """One LoRA adapter on the model's base: `name` is what clients send as `model`.

    Its weights: a Hugging Face repository (`id`, optional `revision`) or a registered model in
    MLflow (`source`: registeredModel + alias or version), exactly one of them.
    """

    name: str = Field(min_length=1, max_length=128)
    # A Hugging Face repository holding adapter_config.json and adapter_model.safetensors.
    id: str | None = None
    revision: str | None = None
    # A registered model in MLflow (rules/registry.py), instead of `id`.
    source: RegistrySource | None = None
    # The served model name the adapter is bound to (vLLM's base_model_name); default: the model's.
    base_model: str | None = None
    # The adapter's LoRA rank (adapter_config.json `r`), when known: checked against lora.maxLoraRank.
    rank: int | None = Field(default=None, ge=1, le=512)
    # Whether the adapter repository is gated (needs hfToken); adapters are public unless said.
    gated: bool = False

    @field_validator("name")
    @classmethod
    def _served_name(cls, value: str) -> str:
        if not _SERVED.match(value):
            raise ValueError("must be a served model name clients send as `model`: letters, digits, '.', '_', "
                             "'-', '/', ':' (no spaces, '=', ',' or quotes), at most 128 characters")
        return value

    @field_validator("id")
    @classmethod
    def _hub_id(cls, value: str | None) -> str | None:
        return None if value is None else check_hf_id(value, "repository id '<organisation>/<adapter>'")

    @field_validator("revision")
    @classmethod
    def _hub_revision(cls, value: str | None) -> str | None:
        return None if value is None else check_revision(value, syntax="")

    @model_validator(mode="after")
    def _one_source(self) -> "AdapterConfig":
        if (self.id is None) == (self.source is None):
            raise ValueError("needs exactly one of id (a Hugging Face repository such as org/my-lora) or source "
                             "(a registered model in MLflow: {registeredModel, alias | version})")
        if self.source is not None:
            if self.revision is not None:
                raise ValueError("revision has no effect with source (the registry version decides the "
                                 "weights); remove it")
            if self.gated:
                raise ValueError("gated has no effect with source (the weights come from the registry's store, "
                                 "not the hub); remove it")
        return self

    @property
    def origin(self) -> str:
        """What the adapter is, for messages: the hub id or the registered model."""
        if self.id is not None:
            return self.id
        assert self.source is not None
        return f"registry:{self.source.registered_model} ({self.source.wanted})"


class LoraLimitsConfig(Strict):
    """The adapter limits of one model's server (vLLM's LoRAConfig); None: the platform's default."""

    # Adapters in one batch (--max-loras).
    max_loras: int | None = Field(default=None, ge=1, le=256)
    # Largest adapter rank the server accepts (--max-lora-rank); the stack decides which values.
    max_lora_rank: int | None = Field(default=None, ge=1, le=512)
    # Adapters kept in CPU memory (--max-cpu-loras), at least maxLoras.
    max_cpu_loras: int | None = Field(default=None, ge=1, le=1024)
