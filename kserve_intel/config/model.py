"""`models[]`: one model; a bare string in `models` is shorthand for `{id: ...}`."""

from __future__ import annotations

from pydantic import Field, field_validator

from .autoscaling import ModelScalingConfig
from .canary import CanaryConfig
from .local_model_cache import ModelLocalCacheConfig
from .lora import AdapterConfig, LoraLimitsConfig
from .registry import RegistrySource
from .reserved import check_env, check_extra_args
from .runtimes import ResourcesConfig
from .values import DnsLabel, HuggingFaceId, Revision, Strict


# Bounds of the wait keys (minutes): a day for a model to load, two hours for an InferenceService to go.
MAX_READY_TIMEOUT_MINUTES = 1440


DEFAULT_DELETE_TIMEOUT_MINUTES = 20


MAX_DELETE_TIMEOUT_MINUTES = 120


class ModelConfig(Strict):
    """One model; a bare string in `models` is shorthand for `{id: ...}`."""

    id: HuggingFaceId
    name: DnsLabel | None = None
    served_model_name: str | None = Field(default=None, min_length=1, max_length=256, pattern=r"^\S+$")
    tensor_parallel_size: int | None = Field(default=None, ge=1, le=64)
    pipeline_parallel_size: int | None = Field(default=None, ge=1, le=64)
    max_model_len: int | None = Field(default=None, ge=128, le=10_485_760)
    extra_args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    resources: ResourcesConfig | None = None
    gated: bool | None = None
    # Hugging Face commit or tag of the weights (and tokenizer): a reproducible rollout.
    revision: Revision | None = None
    autoscaling: ModelScalingConfig | None = None
    canary: CanaryConfig | None = None
    # Nodes one replica spans (multi-node serving): tensor parallel inside a node, pipeline across nodes.
    nodes: int | None = Field(default=None, ge=1, le=16)
    # Pre-load the weights on the local model cache nodes (KServe LocalModelCache, v0.15+).
    local_cache: ModelLocalCacheConfig | None = None
    # Weights from a registered model in MLflow instead of the hub (rules/registry.py).
    source: RegistrySource | None = None
    # LoRA adapters served by the same vLLM beside the base (rules/lora.py).
    adapters: list[AdapterConfig] = Field(default_factory=list, max_length=64)
    # Adapter limits (--max-loras, --max-lora-rank, --max-cpu-loras); None: the platform's defaults.
    lora: LoraLimitsConfig | None = None
    # How long `pulumi up` waits for this model to be Ready; None: the stack's readyTimeoutMinutes.
    ready_timeout_minutes: int | None = Field(default=None, ge=1, le=MAX_READY_TIMEOUT_MINUTES)
    # This model's pinned server (catalog/serving_stacks.py); None: the stack-wide `servingStack`.
    serving_stack: str | None = Field(default=None, min_length=1, max_length=63)
    # This model's server family: vllm, tgi, ovms or a runtimes.custom name; None: the stack-wide `backend`.
    backend: str | None = Field(default=None, min_length=1, max_length=63)

    @field_validator("extra_args")
    @classmethod
    def _no_reserved_args(cls, value: list[str]) -> list[str]:
        return check_extra_args(value)

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        return check_env(value)
