"""Serving stacks: a server (backend) at a pinned version, as data.

Backends: vLLM (the default), Hugging Face TGI, OpenVINO Model Server (OVMS, Xeon only) and the
runtimes a user describes under `runtimes.custom` (a stack built from config, rules/custom_runtimes.py).

A platform profile (catalog/platforms.py) says what the node is; a serving stack says what runs on it:
image, entry point, flags, environment, the Gaudi software release it needs, what its parser no
longer accepts, the capabilities it needs, and its tuned values per model size. Precedence when a
model is planned: platform < stack < catalogue < the model's own config.

Which stack a model runs and every rule about `servingStack`, `backend` and `gaudiSoftware` live in
rules/serving_stacks.py. Another backend (TGI, OVMS, ...) is another `ServingStack` with its own `backend`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping

from .options import OptionTable, option_table
from .platforms import CACHE_MOUNT_PATH, COMMON_ENV, SERVER_ENV, SERVING_PORT, XEON, PlatformProfile

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
    metrics_path: str | None = "/metrics"
    port: int = SERVING_PORT
    # Runtime args that make the server listen where KServe routes (after `args`).
    listen_args: tuple[str, ...] = ("--host", "0.0.0.0", "--port", str(SERVING_PORT))
    # Non-vLLM servers: every option their launcher/CLI parser knows -> whether it takes a value
    # (derived from the pinned source, kserve_intel/catalog/data/); None: vLLM's real parser decides (tests).
    known_args: Mapping[str, bool] | None = None
    # Options that may be given more than once; None: any may (argparse, cxxopts: the last one wins).
    # TGI's clap parser refuses a second occurrence of every other option.
    repeatable_args: frozenset[str] | None = None
    # Options and variables the program sets for this server -> the config key to use instead.
    reserved_args: Mapping[str, str] = field(default_factory=dict)
    reserved_env: Mapping[str, str] = field(default_factory=dict)
    # What `pulumi up` says whenever a model runs this stack (e.g. upstream's maintenance mode).
    warning: str = ""
    # supportedModelFormats name prefix: `<prefix>-intel-<platform>`.
    format_prefix: str = "vllm"
    # A runtime from runtimes.custom: its index there, for messages; None for built-in stacks.
    custom_index: int | None = None
    # The server's option table (data/options/<name>.json, generated from its real parser): how extraArgs are
    # read and checked (rules/flags.py). None: a custom runtime, whose server the program does not know.
    option_table_name: str | None = None

    @property
    def options(self) -> OptionTable | None:
        return option_table(self.option_table_name) if self.option_table_name else None

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

    @property
    def app_name(self) -> str:
        """The `app.kubernetes.io/name` of its pods: the server's own name, never another backend's."""
        names = {"vllm": "vllm", "tgi": "text-generation-inference", "ovms": "openvino-model-server"}
        return names.get(self.backend, self.name)

    @property
    def server(self) -> str:
        """How messages name the server: "vLLM 0.33.0", "TGI 3.3.7", "runtime llamacpp"."""
        names = {"vllm": "vLLM", "tgi": "TGI", "ovms": "OVMS"}
        return f"{names[self.backend]} {self.version}" if self.backend in names else f"runtime {self.name}"


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
    option_table_name="vllm-0.33.0",
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
    option_table_name="vllm-0.10.2",
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
    option_table_name="vllm-0.26.0",
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
    option_table_name="vllm-0.9.0.1",
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


def _flags(name: str) -> Mapping[str, bool]:
    """A launcher's long options -> whether each takes a value (from its option table)."""
    table = option_table(name)
    return MappingProxyType({s: table.options[k].takes_value for s, k in sorted(table.index.items())
                             if s.startswith("--")})


TGI_FLAGS = _flags("tgi-3.3.7")


TGI_REPEATABLE = frozenset(s for s, k in option_table("tgi-3.3.7").index.items()
                           if k in (option_table("tgi-3.3.7").repeatable or ()))


OVMS_FLAGS = _flags("ovms-2026.3")


_TGI_RESERVED = {
    "--model-id": "id", "--revision": "revision", "--num-shard": "tensorParallelSize",
    "--sharded": "tensorParallelSize", "--max-total-tokens": "maxModelLen", "--max-input-tokens": "maxModelLen",
    "--max-input-length": "maxModelLen", "--port": "(fixed: KServe routes to it)",
    "--hostname": "(TGI must listen on all interfaces)", "--api-key": "(put credentials in Secrets, never in args)",
    "--huggingface-hub-cache": "storage", "--lora-adapters": "adapters (vLLM only)",
    "--prometheus-port": "(metrics are scraped from the serving port's /metrics)",
    "--json-output": "(always on: logs as JSON)", "--env": "(prints the environment and exits)",
}


# clap reads each option from its UPPER_SNAKE variable too: the program's options stay the program's.
_TGI_RESERVED_ENV = {
    "MODEL_ID": "id", "REVISION": "revision", "NUM_SHARD": "tensorParallelSize", "SHARDED": "tensorParallelSize",
    "MAX_TOTAL_TOKENS": "maxModelLen", "MAX_INPUT_TOKENS": "maxModelLen", "PORT": "(fixed)",
    "HOSTNAME": "(set by Kubernetes; TGI gets --hostname 0.0.0.0)", "HUGGINGFACE_HUB_CACHE": "storage",
    "LORA_ADAPTERS": "adapters (vLLM only)", "PROMETHEUS_PORT": "(fixed)", "API_KEY": "(Secrets, not env)",
}


_TGI_WARNING = ("TGI is in maintenance mode upstream since December 2025 (minor fixes only; Hugging Face "
                "recommends vLLM): prefer backend vllm unless you must keep a TGI deployment")


_TGI_GAUDI_WARNING = ("TGI is in maintenance mode upstream since December 2025 (minor fixes only; Hugging Face "
                      "recommends vLLM) and its Gaudi image runs Gaudi software 1.21.0, older than the vLLM stack's "
                      "1.24.1: prefer backend vllm unless you must keep a TGI deployment")


TGI_3_3 = ServingStack(
    name="tgi-3.3",
    backend="tgi",
    version="3.3.7",
    platforms=("xeon",),
    gaudi_software=None,
    # TGI's CI tags every release `<version>-intel-cpu` (build.yaml, docker/metadata-action semver).
    image="ghcr.io/huggingface/text-generation-inference:3.3.7-intel-cpu",
    # The image's ENTRYPOINT is the launcher; its CMD (--json-output) is lost once args are set.
    command=("text-generation-launcher",),
    model_positional=False,
    args=(),
    # TGI's Python server (torch) asks getpass.getuser() too: its own LOGNAME, none of vLLM's variables.
    env=MappingProxyType({**SERVER_ENV, "LOGNAME": "tgi", "HUGGINGFACE_HUB_CACHE": f"{CACHE_MOUNT_PATH}/hub"}),
    rejected_args=MappingProxyType({}),
    rejected_env=MappingProxyType({}),
    listen_args=("--hostname", "0.0.0.0", "--port", str(SERVING_PORT), "--json-output"),
    known_args=TGI_FLAGS,
    option_table_name="tgi-3.3.7",
    repeatable_args=TGI_REPEATABLE,
    reserved_args=MappingProxyType(_TGI_RESERVED),
    reserved_env=MappingProxyType(_TGI_RESERVED_ENV),
    warning=_TGI_WARNING,
    format_prefix="tgi",
    description="Hugging Face TGI 3.3.7, CPU image (IPEX 2.7)",
)


TGI_GAUDI_3_3 = replace(
    TGI_3_3,
    name="tgi-gaudi-3.3",
    platforms=("gaudi", "gaudi3"),
    gaudi_software="1.21.0",  # Dockerfile_gaudi at v3.3.7: ARG HABANA_VERSION=1.21.0, PyTorch 2.6.0
    warning=_TGI_GAUDI_WARNING,
    image="ghcr.io/huggingface/text-generation-inference:3.3.7-gaudi",
    # Not the image's /tgi-entrypoint.sh: it runs ldconfig (root) and sets PT_HPU_ENABLE_LAZY_COLLECTIVES
    # only for the literal argument `--sharded true`; the program sets that variable itself for TP > 1.
    command=("text-generation-launcher",),
    env=MappingProxyType({
        **SERVER_ENV,
        "LOGNAME": "tgi",
        "HUGGINGFACE_HUB_CACHE": f"{CACHE_MOUNT_PATH}/hub",
        "PT_HPU_RECIPE_CACHE_CONFIG": f"{CACHE_MOUNT_PATH}/recipe_cache,false,1024",
    }),
    # TGI's Gaudi server does not read the fork-era variables (0 hits in backends/gaudi at v3.3.7).
    rejected_env=MappingProxyType({
        k: "read only by the old tgi-gaudi fork; TGI 3.3's Gaudi backend ignores it"
        for k in ("BATCH_BUCKET_SIZE", "PREFILL_BATCH_BUCKET_SIZE", "PAD_SEQUENCE_TO_MULTIPLE_OF",
                  "ENABLE_HPU_GRAPH", "USE_FLASH_ATTENTION", "FLASH_ATTENTION_RECOMPUTE")
    }),
    # backends/gaudi/examples/docker_commands: 8B on one card batch 32, 70B on eight cards batch 256;
    # warm-up raises "MAX_BATCH_SIZE is not set" without --max-batch-size (flash_causal_lm.py warmup).
    tuned=MappingProxyType({
        (p, tp): Tuned(args=("--max-batch-size", str(32 * tp), "--max-concurrent-requests", str(64 * tp),
                             "--max-waiting-tokens", "7", "--waiting-served-ratio", "1.2"),
                       env=MappingProxyType({"PT_HPU_ENABLE_LAZY_COLLECTIVES": "1"} if tp > 1 else {}))
        for p in ("gaudi", "gaudi3") for tp in (1, 2, 4, 8)
    }),
    description="Hugging Face TGI 3.3.7 Gaudi backend on Gaudi software 1.21.0",
)


_OVMS_RESERVED = {
    "--source_model": "id", "--model_name": "servedModelName", "--model_repository_path": "storage",
    "--rest_port": "(fixed: KServe routes to it)", "--port": "(no gRPC: the OpenAI API is REST)",
    "--rest_bind_address": "(OVMS must listen on all interfaces)", "--metrics_enable": "(always on)",
    "--target_device": "(CPU on Xeon)", "--task": "(text_generation)", "--api_key_file": "(Secrets, not args)",
    "--pull": "(pull and serve is the only mode)", "--model_path": "id", "--config_path": "id",
    "--weight-format": "id (an OpenVINO/* repository needs no conversion)",
}


OVMS_2026_3 = ServingStack(
    name="ovms-2026.3",
    backend="ovms",
    version="2026.3",
    platforms=("xeon",),
    gaudi_software=None,
    image="openvino/model_server:2026.3",
    # The image's ENTRYPOINT (a bash wrapper that execs /ovms/bin/ovms "$@") stays; args follow it.
    command=(),
    model_positional=False,
    args=("--model_repository_path", f"{CACHE_MOUNT_PATH}/models", "--task", "text_generation",
          "--target_device", "CPU"),
    env=MappingProxyType(dict(SERVER_ENV)),
    rejected_args=MappingProxyType({}),
    rejected_env=MappingProxyType({}),
    # src/http_rest_api_handler.cpp + src/llm/servable.cpp @v2026.3: /v1/chat/completions (added in
    # v2026.3, commit 1b48a359c; /v3/... still answers); health /v2/health/ready; /metrics on the REST port.
    openai_path="/v1",
    health_path="/v2/health/ready",
    listen_args=("--rest_port", str(SERVING_PORT), "--rest_bind_address", "0.0.0.0", "--metrics_enable"),
    known_args=OVMS_FLAGS,
    option_table_name="ovms-2026.3",
    reserved_args=MappingProxyType(_OVMS_RESERVED),
    reserved_env=MappingProxyType({"OVMS_MODEL_REPOSITORY_PATH": "storage", "API_KEY": "(Secrets, not env)"}),
    format_prefix="ovms",
    description="OpenVINO Model Server 2026.3, OpenVINO-optimized int4/int8 models on CPU",
)


STACKS: Mapping[str, ServingStack] = MappingProxyType(
    {s.name: s for s in (VLLM_0_33, VLLM_0_10, VLLM_GAUDI_0_26, VLLM_FORK_1_22, TGI_3_3, TGI_GAUDI_3_3, OVMS_2026_3)}
)


# Newest first per backend: the first one a platform offers for a backend is that backend's default.
_ORDER = ("vllm-0.33", "vllm-gaudi-0.26", "vllm-0.10", "vllm-fork-1.22", "tgi-3.3", "tgi-gaudi-3.3", "ovms-2026.3")


BUILT_IN_BACKENDS = ("vllm", "tgi", "ovms")


def offered(platform: str, backend: str | None = None) -> tuple[ServingStack, ...]:
    """The built-in stacks a platform offers (for one backend), newest first."""
    return tuple(STACKS[n] for n in _ORDER
                 if platform in STACKS[n].platforms and (backend is None or STACKS[n].backend == backend))


def software_release(version: str) -> str:
    """"1.22.0" -> "1.22": a driver's minor release decides what runs on it."""
    return ".".join(version.split(".")[:2])


def default_stack(platform: str, gaudi_software: str | None = None, backend: str = "vllm") -> ServingStack:
    """The newest stack of a backend the platform offers, or the newest the declared Gaudi software runs."""
    stacks = offered(platform, backend)
    if gaudi_software:
        wanted = software_release(gaudi_software)
        matching = [s for s in stacks if s.gaudi_software and software_release(s.gaudi_software) == wanted]
        if matching:
            return matching[0]
    return stacks[0]


def image_repository(image: str) -> str:
    """`registry/repo:tag@sha256:...` -> `registry/repo`."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


# Repository names that say which hardware an image is built for (besides the stacks' own images).
_IMAGE_MARKERS: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = (
    (("gaudi", "habana"), frozenset({"gaudi", "gaudi3"})),
    (("cuda", "rocm", "nvidia"), frozenset()),
    (("-cpu", "cpu-", "openvino/"), frozenset({"xeon"})),
)


# Upstream's CUDA image: the CPU one is vllm/vllm-openai-cpu.
_CUDA_REPOSITORIES = frozenset({"vllm/vllm-openai", "docker.io/vllm/vllm-openai"})


def image_platforms(image: str) -> frozenset[str] | None:
    """The platforms an image runs on, when the program knows: a built-in stack's image, a repository only one
    platform family's stacks use, or a name or tag that says its hardware (gaudi/habana, cpu, cuda/rocm); None
    when it cannot tell."""
    reference = image.split("@", 1)[0]
    by_image: dict[str, set[str]] = {}
    by_repo: dict[str, set[str]] = {}
    for stack in STACKS.values():
        by_image.setdefault(stack.image, set()).update(stack.platforms)
        by_repo.setdefault(image_repository(stack.image), set()).update(stack.platforms)
    repo = image_repository(image)
    if reference in by_image:
        return frozenset(by_image[reference])
    if repo in _CUDA_REPOSITORIES:
        return frozenset()
    lowered = reference.lower()
    for markers, platforms in _IMAGE_MARKERS:
        if any(marker in lowered for marker in markers):
            return platforms
    if repo in by_repo and (by_repo[repo] <= {"xeon"} or by_repo[repo] <= {"gaudi", "gaudi3"}):
        return frozenset(by_repo[repo])
    return None
