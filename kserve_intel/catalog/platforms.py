"""Intel platform profiles: one record per kind of node we serve on.

Adding a platform (a new Xeon generation, another Gaudi variant) means adding
one `PlatformProfile` here and one `Pulumi.<stack>.yaml`; nothing else reads
hardware facts. Values come from Intel Enterprise Inference's production vLLM
charts (images that really contain vLLM, tuned flags and environment).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

# Where the model cache (PVC or emptyDir) is mounted; vLLM's Hugging Face cache
# and the Gaudi graph-recipe cache both live there so restarts are warm.
CACHE_MOUNT_PATH = "/data"
SERVING_PORT = 8080


@dataclass(frozen=True)
class Resources:
    """Requests and limits for one predictor pod (per accelerator on Gaudi)."""

    requests: Mapping[str, str]
    limits: Mapping[str, str]


@dataclass(frozen=True)
class PlatformProfile:
    """What a vLLM pod needs on one kind of Intel node."""

    name: str
    description: str
    image: str
    # vLLM flags tuned for the hardware; they go into the ClusterServingRuntime.
    args: tuple[str, ...]
    env: Mapping[str, str]
    # Accelerator resource; None on Xeon, where tensor parallelism spans NUMA nodes.
    accelerator: str | None
    # Most tensor-parallel ranks one node can host (cards, or NUMA nodes on Xeon).
    max_tensor_parallel_size: int
    default_max_model_len: int
    # Xeon: the whole pod. Gaudi: multiplied by the number of cards requested.
    resources: Resources
    resources_per_accelerator: bool
    node_selector: Mapping[str, str]
    tolerations: tuple[Mapping[str, str], ...] = ()
    runtime_class_name: str | None = None
    # Linux capabilities added after dropping ALL. Only Gaudi needs any.
    capabilities: tuple[str, ...] = ()
    shm_size: str = "10Gi"
    # How long vLLM may take to download weights, load and warm up.
    startup_minutes: int = 60
    # Entry point; the serving stack (catalog/serving_stacks.py) sets it with the image, flags and env.
    command: tuple[str, ...] = ("python3", "-m", "vllm.entrypoints.openai.api_server")
    # `vllm serve <model>` takes the model as its first positional argument.
    model_positional: bool = False

    @property
    def runtime_name(self) -> str:
        # Deliberately not "kserve-vllmserver"/"kserve-huggingfaceserver":
        # KServe v0.20 rewrites the image tag of runtimes it recognises by name.
        return f"intel-vllm-{self.name}"

    @property
    def model_format(self) -> str:
        # A format per platform, so two stacks on one cluster never auto-select
        # each other's runtime.
        return f"vllm-intel-{self.name}"

    def pod_resources(self, tensor_parallel_size: int) -> dict[str, dict[str, str]]:
        """Requests and limits for a pod running `tensor_parallel_size` ranks."""
        factor = tensor_parallel_size if self.resources_per_accelerator else 1
        result: dict[str, dict[str, str]] = {}
        for kind, values in (("requests", self.resources.requests), ("limits", self.resources.limits)):
            scaled = {key: _scale(value, factor) for key, value in values.items()}
            if self.accelerator:
                scaled[self.accelerator] = str(tensor_parallel_size)
            result[kind] = scaled
        return result


def _scale(quantity: str, factor: int) -> str:
    """Multiply a whole-number quantity such as "16" or "96Gi"."""
    if factor == 1:
        return quantity
    digits = "".join(ch for ch in quantity if ch.isdigit())
    suffix = quantity[len(digits):]
    if not digits or quantity[: len(digits)] != digits:
        raise ValueError(f"cannot scale quantity {quantity!r}")
    return f"{int(digits) * factor}{suffix}"


# Every server container's base environment, whatever its backend (TGI, OVMS and custom runtimes get this).
SERVER_ENV = {
    "HF_HOME": CACHE_MOUNT_PATH,
    "HF_HUB_DISABLE_XET": "1",
    # The root filesystem is read-only; everything else the server writes goes to /tmp.
    "HOME": "/tmp",
    "DO_NOT_TRACK": "1",
}


# Every vLLM container's base environment (serving_stacks.py builds on it too).
COMMON_ENV = {
    **SERVER_ENV,
    # Images run as an arbitrary non-root UID with no passwd entry; PyTorch
    # asks getpass.getuser(), which reads LOGNAME first.
    "LOGNAME": "vllm",
    "VLLM_NO_USAGE_STATS": "1",
}

_GAUDI_ARGS = (
    "--block-size", "128",
    "--dtype", "bfloat16",
    "--gpu-memory-utilization", "0.95",
    "--max-num-prefill-seqs", "16",
    "--num-scheduler-steps", "1",
    "--use-padding-aware-scheduling",
    "--disable-log-requests",
)

_GAUDI_ENV = {
    **COMMON_ENV,
    "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
    "PT_HPU_LAZY_MODE": "1",
    "PT_HPU_ENABLE_LAZY_COLLECTIVES": "true",
    "PT_HPU_RECIPE_CACHE_CONFIG": f"{CACHE_MOUNT_PATH}/recipe_cache,false,1024",
    "VLLM_SKIP_WARMUP": "false",
    "PYTHONUNBUFFERED": "1",
}

_GAUDI_TOLERATIONS = ({"key": "habana.ai/gaudi", "operator": "Exists", "effect": "NoSchedule"},)
# The Gaudi trio from Intel's charts: memory locking for DMA, process priority,
# and the Habana runtime's use of ptrace. Documented exception to "restricted".
_GAUDI_CAPABILITIES = ("IPC_LOCK", "SYS_NICE", "SYS_PTRACE")
# Node Feature Discovery's default PCI label: class 1200 (processing
# accelerator), vendor 1da3 (Habana Labs). Gaudi2 and Gaudi3 share it.
_GAUDI_NODE_SELECTOR = {"feature.node.kubernetes.io/pci-1200_1da3.present": "true"}

XEON = PlatformProfile(
    name="xeon",
    description="Intel Xeon with AMX/AVX-512 (vLLM CPU backend)",
    image="public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.10.2",
    args=(
        "--block-size", "128",
        "--dtype", "bfloat16",
        "--distributed-executor-backend", "mp",
        "--enable-chunked-prefill",
        "--enforce-eager",
        "--max-num-batched-tokens", "2048",
        "--max-num-seqs", "256",
        "--disable-log-requests",
    ),
    env=MappingProxyType({
        **COMMON_ENV,
        "VLLM_CPU_KVCACHE_SPACE": "40",
        "VLLM_RPC_TIMEOUT": "100000",
        "VLLM_ALLOW_LONG_MAX_MODEL_LEN": "1",
        "VLLM_ENGINE_ITERATION_TIMEOUT_S": "120",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
        "VLLM_CPU_SGL_KERNEL": "1",
    }),
    accelerator=None,
    max_tensor_parallel_size=4,
    default_max_model_len=8192,
    # Equal whole-CPU requests and limits: Guaranteed QoS, so the kubelet's
    # static CPU manager pins vLLM's OpenMP threads to dedicated cores.
    resources=Resources(
        requests=MappingProxyType({"cpu": "32", "memory": "128Gi"}),
        limits=MappingProxyType({"cpu": "32", "memory": "128Gi"}),
    ),
    resources_per_accelerator=False,
    node_selector=MappingProxyType({"feature.node.kubernetes.io/cpu-cpuid.AVX512VNNI": "true"}),
    startup_minutes=60,
)

def _gaudi(name: str, description: str, max_num_seqs: int, max_model_len: int,
           requests: dict[str, str], limits: dict[str, str]) -> PlatformProfile:
    """Gaudi generations share the image, flags, env and exceptions; they differ in size."""
    return PlatformProfile(
        name=name,
        description=description,
        image="opea/vllm-gaudi:1.22.0",
        args=_GAUDI_ARGS + ("--max-num-seqs", str(max_num_seqs)),
        env=MappingProxyType(_GAUDI_ENV),
        accelerator="habana.ai/gaudi",
        max_tensor_parallel_size=8,
        default_max_model_len=max_model_len,
        resources=Resources(requests=MappingProxyType(requests), limits=MappingProxyType(limits)),
        resources_per_accelerator=True,
        node_selector=MappingProxyType(_GAUDI_NODE_SELECTOR),
        tolerations=_GAUDI_TOLERATIONS,
        runtime_class_name="habana",
        capabilities=_GAUDI_CAPABILITIES,
        startup_minutes=90,
    )


# Per-card CPU and memory, sized so eight cards' pods fit one HLS node.
GAUDI = _gaudi("gaudi", "Intel Gaudi2 (vLLM HPU backend)", 256, 8192,
               requests={"cpu": "10", "memory": "96Gi"}, limits={"cpu": "20", "memory": "120Gi"})
GAUDI3 = _gaudi("gaudi3", "Intel Gaudi3 (vLLM HPU backend)", 512, 16384,
                requests={"cpu": "12", "memory": "128Gi"}, limits={"cpu": "24", "memory": "200Gi"})

PROFILES: Mapping[str, PlatformProfile] = MappingProxyType(
    {profile.name: profile for profile in (XEON, GAUDI, GAUDI3)}
)
