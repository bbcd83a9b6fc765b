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
    """Hugging Face id, `<organisation>/<model>`."""
    name: DnsLabel | None = None
    """InferenceService name (DNS label). Default: the model part of the id, lowercased (`Llama-3.1-8B-Instruct` ->
    `llama-3-1-8b-instruct`), cut with a stable hash when it would not fit KServe's `<name>-predictor-<namespace>`
    host label (63 characters). Two models may not end up with the same name. Default: from the id.
    """
    served_model_name: str | None = Field(default=None, min_length=1, max_length=256, pattern=r"^\S+$")
    """Name clients pass as `model` in OpenAI requests; unique across models (the GenAI gateway routes by it).
    Default: the id.
    """
    tensor_parallel_size: int | None = Field(default=None, ge=1, le=64)
    """vLLM tensor parallelism: Gaudi cards requested per replica (Xeon: NUMA nodes). Must divide the model's attention
    heads and split its KV heads, and (Gaudi) give each card no more weights than its HBM holds; see
    [capacity.md](capacity.md). Default: catalogue, else 1.
    """
    pipeline_parallel_size: int | None = Field(default=None, ge=1, le=64)
    """vLLM pipeline parallelism within the node; at most the model's layers. Default: 1."""
    max_model_len: int | None = Field(default=None, ge=128, le=10_485_760)
    """`--max-model-len`: at most the context vLLM derives from the model's config.json, and one request of it must
    fit the KV cache ([capacity.md](capacity.md)). Default: catalogue, else platform (Xeon 8192, Gaudi 8192, Gaudi3
    16384), cut to the model's context.
    """
    extra_args: list[str] = Field(default_factory=list)
    """Extra server flags, appended last (they win), read as the stack's own parser reads them (short aliases, `=`
    forms, underscores, unambiguous prefixes). Flags that have a key of their own (`--model`, `--port`,
    `--tensor-parallel-size`...) are refused in every spelling (`-tp`, `--tensor_parallel_size=2`); values are
    checked against the option's type, choices and the platform. See
    [serving-stacks.md](serving-stacks.md#how-extraargs-are-checked-option-tables).
    """
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables (override the catalogue's). `HF_TOKEN` and `HF_HOME` are managed by the program.
    `VLLM_CPU_KVCACHE_SPACE` (Xeon): whole GiB of KV cache per rank, above 0.
    """
    resources: ResourcesConfig | None = None
    """`{requests: {...}, limits: {...}}`, merged key by key over the profile. On Xeon CPU and memory requests must
    equal limits (Guaranteed QoS); on Gaudi `habana.ai/gaudi` is derived from the parallelism. A memory limit below
    what the model needs (weights + KV cache per rank x ranks + runtime), a request above its limit, zero cpu or
    memory and another platform's accelerators are refused ([capacity.md](capacity.md)). Default: platform
    profile; on Xeon the memory follows the need when the profile's would not hold the model.
    """
    gated: bool | None = None
    """Whether the model needs `hfToken`. Unknown models count as gated unless set to `false`. Default: catalogue, else
    `true`.
    """
    revision: Revision | None = None
    """Hugging Face commit (40 hex digits) or tag of the weights; passed as `--revision` and `--tokenizer-revision`.
    Pin a commit for a reproducible rollout.
    """
    autoscaling: ModelScalingConfig | None = None
    """`{minReplicas, maxReplicas, target}` for this model only (`minReplicas: 0` scales it to zero). Only with
    `autoscaling.enabled`. Default: the stack's.
    """
    canary: CanaryConfig | None = None
    """A canary version beside the stable one: `{trafficPercent (0-100, required), image, revision, extraArgs, env,
    name}`; at least one of image/revision/extraArgs/env. `extraArgs` replaces the model's, `env` is merged over it.
    `name` (default `canary`, Standard mode only) names the Deployment `<model>-<name>-predictor`. See [Canary and
    rollback](canary.md).
    """
    nodes: int | None = Field(default=None, ge=1, le=16)
    """Nodes one replica spans (Gaudi, KServe v0.15+): `tensorParallelSize` cards on each node, pipeline parallel
    across nodes. See [Models larger than one node](multinode.md). Default: catalogue, else 1.
    """
    local_cache: ModelLocalCacheConfig | None = None
    """`{size: <quantity>}`: keep this model's weights on the local disks of the cache node group (KServe
    `LocalModelCache`, needs `localModelCache.enabled`). `size` (required) is the disk the weights take on each node
    (`modelSize`). The model then gets `storageUri: hf://<id>[:<revision>]` and vLLM serves `--model /mnt/models`.
    See [Local model cache](local-model-cache.md).
    """
    source: RegistrySource | None = None
    """Weights from a registered model in MLflow: `{registeredModel, alias or version, resolved?}`; `id` stays the base
    model's (tuned settings). See [Models from the MLflow registry](registry.md).
    """
    adapters: list[AdapterConfig] = Field(default_factory=list, max_length=64)
    """LoRA adapters on this base, one vLLM: `[{name, id, revision?, baseModel?, rank?, gated?}]`, or `source` (MLflow
    registry, KServe v0.16+) instead of `id`; clients pick one by `model: <name>`. See [LoRA adapters](lora.md).
    """
    lora: LoraLimitsConfig | None = None
    """Adapter limits `{maxLoras, maxLoraRank, maxCpuLoras}` (vLLM's `--max-loras`, `--max-lora-rank`,
    `--max-cpu-loras`). Default: Xeon: `maxLoras` = adapters (at most 4); Gaudi: at most 2; `maxLoraRank` 16;
    `maxCpuLoras` = adapters.
    """
    ready_timeout_minutes: int | None = Field(default=None, ge=1, le=MAX_READY_TIMEOUT_MINUTES)
    """How long `pulumi up` waits for this model to be Ready (1-1440); then `up` fails for this model only and says
    what to run. The startup probe's window, the multi-node weights Job's deadline and the Knative progress
    deadline follow it (never below the platform's startup window), see
    [one clock](troubleshooting.md#one-clock-for-every-wait-of-a-model). Default: `readyTimeoutMinutes`.
    """
    serving_stack: str | None = Field(default=None, min_length=1, max_length=63)
    """This model's serving stack; it runs that stack's own runtime. See
    [docs/serving-stacks.md](serving-stacks.md#a-stack-per-model). Default: `servingStack`.
    """
    backend: str | None = Field(default=None, min_length=1, max_length=63)
    """This model's server family. Default: `backend`."""

    @field_validator("extra_args")
    @classmethod
    def _no_reserved_args(cls, value: list[str]) -> list[str]:
        return check_extra_args(value)

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        return check_env(value)
