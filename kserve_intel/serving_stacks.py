"""Serving stacks: a server (backend) at a pinned version, as data.

A platform profile (platforms.py) says what the node is; a serving stack says what runs on it:
image, entry point, flags, environment, the Gaudi software release it needs, what its parser no
longer accepts, the capabilities it needs, and its tuned values per model size. Precedence when a
model is planned: platform < stack < catalogue < the model's own config.

The config keys `servingStack` and `gaudiSoftware`, and every rule about them, live here.
Another backend (TGI, OVMS, ...) is another `ServingStack` with its own `backend`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Iterable, Mapping

from .errors import ConfigIssue
from .platforms import CACHE_MOUNT_PATH, COMMON_ENV, XEON, PlatformProfile

if TYPE_CHECKING:  # pragma: no cover
    from .config import StackConfig


@dataclass(frozen=True)
class Tuned:
    """Values one stack sets per model shape (tensor-parallel size) on one platform."""

    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServingStack:
    name: str
    backend: str
    version: str
    platforms: tuple[str, ...]
    # Gaudi software release the image is built for; the node's driver must match. None on Xeon.
    gaudi_software: str | None
    image: str
    command: tuple[str, ...]
    # True: the model is the first positional argument (`vllm serve <model>`); False: `--model <model>`.
    model_positional: bool
    args: tuple[str, ...]
    env: Mapping[str, str]
    # Flags and variables this stack's server no longer knows: never emitted, refused in config.
    rejected_args: Mapping[str, str]
    rejected_env: Mapping[str, str]
    capabilities: tuple[str, ...] = ()
    # Which vLLM's parser checks this stack's command lines (the fork is not on PyPI).
    parser_version: str = ""
    # Flags the stack's server accepts beyond parser_version's parser (fork-only flags) -> whether
    # the flag takes a value; the test strips them before the upstream parser sees the command line.
    extra_known_args: Mapping[str, bool] = field(default_factory=dict)
    # (platform, tensor_parallel_size) -> tuned values; the nearest smaller size applies.
    tuned: Mapping[tuple[str, int], Tuned] = field(default_factory=dict)
    description: str = ""
    # Where the server answers: the OpenAI API's base path, its health check and its Prometheus metrics
    # (all on the serving port).
    openai_path: str = "/v1"
    health_path: str = "/health"
    metrics_path: str = "/metrics"

    def tuning(self, platform: str, tensor_parallel_size: int) -> Tuned:
        sizes = sorted(tp for (p, tp) in self.tuned if p == platform and tp <= tensor_parallel_size)
        return self.tuned[(platform, sizes[-1])] if sizes else Tuned()

    def rejects_arg(self, arg: str) -> str | None:
        flag = arg.split("=", 1)[0].replace("_", "-")
        return self.rejected_args.get(flag)

    def applied_to(self, profile: PlatformProfile) -> PlatformProfile:
        """The platform profile with this stack's image, flags, env and capabilities."""
        caps = tuple(dict.fromkeys(profile.capabilities + self.capabilities))
        return replace(profile, image=self.image, args=self.args, env=MappingProxyType(dict(self.env)),
                       capabilities=caps, command=self.command, model_positional=self.model_positional)



# Gone from vLLM since 0.10.2 (the 0.33.0 parser answers "unrecognized arguments").
_GONE_SINCE_0_10 = {
    "--swap-space": "removed in vLLM 0.18 (no CPU swap in the V1 engine)",
    "--max-seq-len-to-capture": "removed in vLLM 0.11",
    "--num-scheduler-steps": "removed with the V0 engine (0.11); use --async-scheduling",
    "--use-padding-aware-scheduling": "a HabanaAI fork flag; vllm-gaudi pads with VLLM_BUCKETING_STRATEGY=pad",
    "--max-num-prefill-seqs": "a HabanaAI fork flag; vllm-gaudi reads VLLM_PROMPT_BS_BUCKET_MAX",
}
_ENV_GONE_SINCE_0_10 = {
    "VLLM_USE_V1": "the V0 engine is gone (vLLM 0.11); V1 is the only engine",
}

VLLM_0_33 = ServingStack(
    name="vllm-0.33",
    backend="vllm",
    version="0.33.0",
    platforms=("xeon",),
    gaudi_software=None,
    image="vllm/vllm-openai-cpu:v0.33.0-x86_64",
    command=("vllm", "serve"),
    model_positional=True,
    # Intel's optimization-zone guide and vLLM's CPU benchmark settings; chunked prefill is
    # always on in V1 and --enforce-eager is not set (CPU graphs via torch.compile).
    args=(
        "--block-size", "128",
        "--dtype", "bfloat16",
        "--distributed-executor-backend", "mp",
        "--max-num-batched-tokens", "2048",
        "--max-num-seqs", "128",
    ),
    env=MappingProxyType({
        **COMMON_ENV,
        "USER": "vllm",
        # GiB of KV cache per tensor-parallel rank, i.e. per NUMA node (TP = NUMA nodes).
        "VLLM_CPU_KVCACHE_SPACE": "40",
        "VLLM_CPU_OMP_THREADS_BIND": "auto",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "1",
    }),
    rejected_args=MappingProxyType(_GONE_SINCE_0_10),
    rejected_env=MappingProxyType({
        **_ENV_GONE_SINCE_0_10,
        # Found by the real-parser test: 0.26.0's vllm/envs.py defines it, 0.33.0's does not.
        "VLLM_CPU_SGL_KERNEL": "no longer defined in vLLM 0.33.0's vllm/envs.py (0.26 and 0.10 read it)",
    }),
    # NUMA binding: the CPU worker's init_cpu_memory_env calls set_mempolicy/get_mempolicy (and mbind
    # for MoE weights); the runtime's default seccomp profile allows them only to holders of
    # CAP_SYS_NICE. RuntimeDefault seccomp stays (docs/serving-stacks.md "Pod security per stack").
    capabilities=("SYS_NICE",),
    parser_version="0.33.0",
    # CPU docs: --max-num-seqs 128 and --max-num-batched-tokens 2048 per rank.
    tuned=MappingProxyType({
        ("xeon", 2): Tuned(args=("--max-num-batched-tokens", "4096", "--max-num-seqs", "256")),
        ("xeon", 4): Tuned(args=("--max-num-batched-tokens", "8192", "--max-num-seqs", "512")),
    }),
    description="upstream vLLM 0.33.0 CPU backend",
)

VLLM_0_10 = ServingStack(
    name="vllm-0.10",
    backend="vllm",
    version="0.10.2",
    platforms=("xeon",),
    gaudi_software=None,
    # Today's Xeon profile is this stack: the same image, flags and environment (platforms.XEON).
    image=XEON.image,
    command=("python3", "-m", "vllm.entrypoints.openai.api_server"),
    model_positional=False,
    args=XEON.args,
    env=XEON.env,
    rejected_args=MappingProxyType({
        "--use-padding-aware-scheduling": "a HabanaAI fork flag, unknown to upstream vLLM",
        "--max-num-prefill-seqs": "a HabanaAI fork flag, unknown to upstream vLLM",
    }),
    rejected_env=MappingProxyType({}),
    parser_version="0.10.2",
    description="vLLM 0.10.2 CPU image (September 2025), the previous default",
)

_PLUGIN_ENV = {
    **COMMON_ENV,
    "USER": "vllm",
    "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
    "PT_HPU_RECIPE_CACHE_CONFIG": f"{CACHE_MOUNT_PATH}/recipe_cache,false,1024",
    "PYTHONUNBUFFERED": "1",
    # The plugin launcher's values (vllm-gaudi v0.26.0, .cd/entrypoints), rendered for Llama-3.1.
    "PT_HPU_LAZY_MODE": "0",
    "PT_ENABLE_INT64_SUPPORT": "0",
    "PT_HPU_ENABLE_EAGER_CACHE": "true",
    "VLLM_SKIP_WARMUP": "False",
    "VLLM_EXPONENTIAL_BUCKETING": "False",
    "VLLM_PROMPT_BS_BUCKET_MIN": "1",
    "VLLM_PROMPT_BS_BUCKET_STEP": "32",
    "VLLM_PROMPT_BS_BUCKET_MAX": "1",
    "VLLM_DECODE_BS_BUCKET_MIN": "1",
    "VLLM_DECODE_BS_BUCKET_STEP": "32",
    "VLLM_PROMPT_QUERY_BUCKET_MIN": "128",
    "VLLM_PROMPT_QUERY_BUCKET_STEP": "256",
    "VLLM_PROMPT_CTX_BUCKET_STEP": "4",
    "VLLM_DECODE_BLOCK_BUCKET_MIN": "128",
    "VLLM_DECODE_BLOCK_BUCKET_STEP": "256",
    "VLLM_CONTIGUOUS_PA": "True",
    "VLLM_DEFRAG": "True",
}


def _plugin_row(gmu: str, mns: int, graph_mem: str, lazy_collectives: bool) -> Tuned:
    env = {"VLLM_GRAPH_RESERVED_MEM": graph_mem}
    if lazy_collectives:
        env["PT_HPU_ENABLE_LAZY_COLLECTIVES"] = "true"
    return Tuned(args=("--gpu-memory-utilization", gmu, "--max-num-seqs", str(mns)), env=MappingProxyType(env))


VLLM_GAUDI_0_26 = ServingStack(
    name="vllm-gaudi-0.26",
    backend="vllm",
    version="0.26.0",
    platforms=("gaudi", "gaudi3"),
    gaudi_software="1.24.1",
    # The plugin quickstart's image (v0.26.0); its ENTRYPOINT is the auto-tuning launcher, so the
    # command is overridden with `vllm serve` and the launcher's values are set here instead.
    image="vault.habana.ai/gaudi-docker/1.24.1/ubuntu24.04/habanalabs/vllm-0.26.0-ptupstream-2.11.0:1.24.1",
    command=("vllm", "serve"),
    model_positional=True,
    args=(
        "--block-size", "128",
        "--dtype", "bfloat16",
        "--generation-config", "vllm",
        "--max-num-batched-tokens", "2048",
        "--no-enable-prefix-caching",
        "--async-scheduling",
    ),
    env=MappingProxyType(_PLUGIN_ENV),
    rejected_args=MappingProxyType(_GONE_SINCE_0_10),
    rejected_env=MappingProxyType({
        **_ENV_GONE_SINCE_0_10,
        "VLLM_GRAPH_PROMPT_RATIO": "no longer read by vllm-gaudi; see VLLM_GRAPH_RESERVED_MEM",
        "VLLM_DELAYED_SAMPLING": "replaced by --async-scheduling in vllm-gaudi",
        "VLLM_PROMPT_SEQ_BUCKET_MIN": "renamed VLLM_PROMPT_QUERY_BUCKET_MIN in vllm-gaudi",
        "VLLM_PROMPT_SEQ_BUCKET_STEP": "renamed VLLM_PROMPT_QUERY_BUCKET_STEP in vllm-gaudi",
        "VLLM_PROMPT_SEQ_BUCKET_MAX": "renamed VLLM_PROMPT_QUERY_BUCKET_MAX in vllm-gaudi",
    }),
    parser_version="0.26.0",
    # The launcher's table: 8B at TP 1, 70B at TP 4 (validated), TP 8 (not validated upstream).
    tuned=MappingProxyType({
        ("gaudi", 1): _plugin_row("0.88", 96, "0.04", False),
        ("gaudi3", 1): _plugin_row("0.91", 160, "0.04", False),
        ("gaudi", 2): _plugin_row("0.88", 96, "0.04", True),
        ("gaudi3", 2): _plugin_row("0.91", 160, "0.04", True),
        ("gaudi", 4): _plugin_row("0.91", 128, "0.1", True),
        ("gaudi3", 4): _plugin_row("0.94", 224, "0.1", True),
        ("gaudi", 8): _plugin_row("0.93", 384, "0.1", True),
        ("gaudi3", 8): _plugin_row("0.95", 544, "0.1", True),
    }),
    description="vllm-project/vllm-gaudi v0.26.0 plugin on vLLM 0.26.0, Gaudi software 1.24.1",
)

_FORK_ARGS = (
    "--block-size", "128",
    "--dtype", "bfloat16",
    "--gpu-memory-utilization", "0.95",
    "--max-num-prefill-seqs", "16",
    "--num-scheduler-steps", "1",
    "--use-padding-aware-scheduling",
    "--disable-log-requests",
)

VLLM_FORK_1_22 = ServingStack(
    name="vllm-fork-1.22",
    backend="vllm",
    version="0.9.0.1+Gaudi-1.22.0",
    platforms=("gaudi", "gaudi3"),
    gaudi_software="1.22.0",
    image="opea/vllm-gaudi:1.22.0",
    command=("python3", "-m", "vllm.entrypoints.openai.api_server"),
    model_positional=False,
    args=_FORK_ARGS,
    env=MappingProxyType({
        **COMMON_ENV,
        "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
        "PT_HPU_LAZY_MODE": "1",
        "PT_HPU_ENABLE_LAZY_COLLECTIVES": "true",
        "PT_HPU_RECIPE_CACHE_CONFIG": f"{CACHE_MOUNT_PATH}/recipe_cache,false,1024",
        "VLLM_SKIP_WARMUP": "false",
        "PYTHONUNBUFFERED": "1",
    }),
    rejected_args=MappingProxyType({
        "--async-scheduling": "unknown to the HabanaAI fork (vLLM 0.9); use the vllm-gaudi-0.26 stack",
    }),
    rejected_env=MappingProxyType({}),
    # HabanaAI/vllm-fork is not on PyPI: upstream vLLM 0.9.0.1's parser (the fork's base) plus
    # the flags the fork adds. Measured by running the fork's own parser at tag
    # v0.9.0.1+Gaudi-1.22.0 (commit 2e9b2b3d) against upstream 0.9.0.1's: these are every option
    # string the fork has and upstream lacks (none the other way). Value: True if it takes a value.
    parser_version="0.9.0.1",
    extra_known_args=MappingProxyType({
        "--use-padding-aware-scheduling": False,  # SchedulerConfig (fork vllm/config.py)
        "--max-num-prefill-seqs": True,  # SchedulerConfig
        "--weights-load-device": True,  # fork vllm/engine/arg_utils.py
        "--split-qkv": False,  # ModelConfig
        "--data-parallel-backend": True,  # upstream has it by 0.10.2, not in 0.9.0.1
        "-dpb": True,
        "--disable-hybrid-kv-cache-manager": False,  # upstream has it by 0.10.2, not in 0.9.0.1
        "--no-disable-hybrid-kv-cache-manager": False,
        "--enable-multimodal-encoder-data-parallel": False,  # upstream has it by 0.10.2, not in 0.9.0.1
        "--no-enable-multimodal-encoder-data-parallel": False,
        "--log-config-file": True,  # upstream has it by 0.10.2, not in 0.9.0.1
    }),
    tuned=MappingProxyType({
        ("gaudi", 1): Tuned(args=("--max-num-seqs", "256")),
        ("gaudi3", 1): Tuned(args=("--max-num-seqs", "512")),
    }),
    description="HabanaAI/vllm-fork v0.9.0.1+Gaudi-1.22.0 (end of life from Gaudi software 1.23)",
)

STACKS: Mapping[str, ServingStack] = MappingProxyType(
    {s.name: s for s in (VLLM_0_33, VLLM_0_10, VLLM_GAUDI_0_26, VLLM_FORK_1_22)}
)
# Newest first: the first one a platform offers is its default.
_ORDER = ("vllm-0.33", "vllm-gaudi-0.26", "vllm-0.10", "vllm-fork-1.22")


def offered(platform: str) -> tuple[ServingStack, ...]:
    return tuple(STACKS[n] for n in _ORDER if platform in STACKS[n].platforms)


def _release(version: str) -> str:
    """"1.22.0" -> "1.22": a driver's minor release decides what runs on it."""
    return ".".join(version.split(".")[:2])


def default_stack(platform: str, gaudi_software: str | None = None) -> ServingStack:
    """The newest stack the platform offers, or the newest the declared Gaudi software runs."""
    stacks = offered(platform)
    if gaudi_software:
        matching = [s for s in stacks if s.gaudi_software and _release(s.gaudi_software) == _release(gaudi_software)]
        if matching:
            return matching[0]
    return stacks[0]


def resolve(config: "StackConfig") -> ServingStack:
    """The stack-wide serving stack: `servingStack`, else the platform's newest for `gaudiSoftware`."""
    if config.serving_stack:
        return STACKS[config.serving_stack]
    return default_stack(config.platform, config.gaudi_software)


def resolve_model(config: "StackConfig", model) -> ServingStack:
    """The stack one model runs: its own `servingStack`, else the stack-wide one."""
    if model.serving_stack:
        return STACKS[model.serving_stack]
    return resolve(config)


def runtime_name(platform: PlatformProfile, stack: ServingStack, stack_wide: bool) -> str:
    """The ClusterServingRuntime name of a stack on a platform.

    The stack-wide stack keeps the platform's name (`intel-vllm-xeon`), so choosing another
    stack-wide stack updates that runtime in place; a stack only some models pick gets a name of
    its own that encodes it (`intel-xeon-vllm-0-10`), so the runtimes coexist.
    """
    if stack_wide:
        return platform.runtime_name
    return f"intel-{platform.name}-{stack.name.replace('.', '-')}"


def in_use(config: "StackConfig") -> tuple[ServingStack, ...]:
    """The stacks whose runtimes the stack creates: the stack-wide one first, then each other
    stack a model picks, in the order the models name them. The stack-wide runtime is created when
    a model uses it or when the stack has no models (a stack that only provides the runtime)."""
    stack_wide = resolve(config)
    used = [resolve_model(config, m) for m in config.models]
    stacks = ([stack_wide] if not used or stack_wide in used else []) + [s for s in used if s is not stack_wide]
    return tuple({s.name: s for s in stacks}.values())


def serving_stack_checks(config: "StackConfig") -> Iterable[ConfigIssue]:
    """Every rule about servingStack, gaudiSoftware and what a stack's server accepts."""
    platform = config.platform
    names = [s.name for s in offered(platform)]
    allowed = f"is not offered on {platform}; allowed: {', '.join(names)}"
    if config.serving_stack is not None and config.serving_stack not in names:
        yield ConfigIssue("servingStack", allowed, config.serving_stack)
        return
    if config.gaudi_software is not None and not platform.startswith("gaudi"):
        yield ConfigIssue("gaudiSoftware", f"has no effect on {platform}; remove it", config.gaudi_software)
    for i, model in enumerate(config.models):
        if model.serving_stack is not None and model.serving_stack not in names:
            yield ConfigIssue(f"models[{i}].servingStack", allowed, model.serving_stack)
            continue
        stack = resolve_model(config, model)
        for source, args, env in (
            (f"models[{i}]", model.extra_args, model.env),
            (f"models[{i}].canary", (model.canary.extra_args or []) if model.canary else [],
             (model.canary.env or {}) if model.canary else {}),
        ):
            for arg in args:
                reason = stack.rejects_arg(arg)
                if reason:
                    yield ConfigIssue(f"{source}.extraArgs", f"{arg.split('=', 1)[0]} is not accepted by serving "
                                      f"stack {stack.name} (vLLM {stack.version}): {reason}", arg)
            for key in env:
                if key in stack.rejected_env:
                    yield ConfigIssue(f"{source}.env", f"{key} is not read by serving stack {stack.name} "
                                      f"(vLLM {stack.version}): {stack.rejected_env[key]}", key)


def serving_stack_warnings(config: "StackConfig") -> list[str]:
    """What `pulumi up` warns about: a stack in use that the declared nodes cannot run."""
    declared = config.gaudi_software
    warnings = []
    for stack in in_use(config):
        if declared and stack.gaudi_software and _release(declared) != _release(stack.gaudi_software):
            users = [f"models[{i}]" for i, m in enumerate(config.models) if resolve_model(config, m) is stack]
            chosen = "servingStack" if stack is resolve(config) else " and ".join(f"{u}.servingStack" for u in users)
            warnings.append(
                f"{chosen} {stack.name} needs Gaudi software {stack.gaudi_software} (driver, firmware and "
                f"Gaudi operator) but gaudiSoftware says the nodes run {declared}; its pods will fail on those "
                f"nodes. Upgrade the nodes or pin the stack that matches them: "
                + ", ".join(s.name for s in offered(config.platform)
                            if s.gaudi_software and _release(s.gaudi_software) == _release(declared))
            )
    return warnings
