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
    """The served model name clients send as `model`. Letters, digits, `.`, `_`, `-`, `/`, `:`; unique among all models
    and adapters of the namespace, not the base's own name.
    """
    id: str | None = None
    """Hugging Face repository of the adapter (`adapter_config.json`, `adapter_model.safetensors`)."""
    revision: str | None = None
    """Commit or tag; KServe v0.16+ only (the storage initializer downloads `hf://<id>:<revision>`); refused where vLLM
    downloads the adapter (no revision there: before v0.16, beside `localCache`, with an `hfEndpoint` mirror before
    v0.20, on a Standard-mode canary).
    """
    source: RegistrySource | None = None
    """A registered model in MLflow: `{registeredModel, alias | version, resolved?}` (the shapes of a model's `source`,
    [model registry](registry.md)); KServe v0.16+, not beside `localCache`, see below.
    """
    base_model: str | None = None
    """vLLM's `base_model_name`; any other value is refused (vLLM would ignore it silently). Default: the model's
    served name.
    """
    rank: int | None = Field(default=None, ge=1, le=512)
    """The adapter's LoRA rank (`r` in adapter_config.json); a rank above `lora.maxLoraRank` is refused (vLLM refuses
    to load it and stops).
    """
    gated: bool = False
    """A gated adapter needs `hfToken`; the token check during `pulumi up` reads its `adapter_config.json`. On KServe
    v0.16+ the storage initializer gets the token (below). Not with `source`.
    """

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

    max_loras: int | None = Field(default=None, ge=1, le=256)
    """`--max-loras`: adapters in one batch. Default: Xeon: adapters, at most 4; Gaudi: adapters, at most 2."""
    max_lora_rank: int | None = Field(default=None, ge=1, le=512)
    """`--max-lora-rank`; vLLM 0.26/0.33 accept 1, 8, 16, 32, 64, 128, 256, 320, 512; 0.10.2 and the fork 8 ... 512.
    Default: 16.
    """
    max_cpu_loras: int | None = Field(default=None, ge=1, le=1024)
    """`--max-cpu-loras`: adapters kept in CPU memory. Default: the number of adapters (at least maxLoras)."""
