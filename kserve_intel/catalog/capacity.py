"""Facts the capacity rule (rules/capacity.py) sizes a model's pod with, each with where it comes from.

Measured or published facts are stated as such; the two overheads are proposals, marked so, to be calibrated
on real nodes (docs/capacity.md says how).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

GIB = 1024 ** 3


# HBM per card, GiB. Gaudi2 (HL-225): 96 GB HBM2E; Gaudi3 (HL-325): 128 GB HBM2E (Intel's product pages;
# Optimum Habana's conceptual guide: "8 devices ... with 96GB of memory each on Gaudi2"). HBM stacks are
# binary-sized (6 x 16 GiB, 8 x 16 GiB), so the figures are taken as GiB. What `torch.hpu.mem_get_info()`
# reports as free after the runtime starts is a little less: GAUDI_WORKSPACE_GIB below covers it.
HBM_GIB: Mapping[str, float] = MappingProxyType({"gaudi": 96.0, "gaudi3": 128.0})


# Per card, GiB: what the HPU runtime and vLLM's profiling run take besides the weights before the KV cache is
# sized (vllm-gaudi v0.26.0 hpu_worker.py determine_available_memory reads mem_get_info() *after* the profile
# run). PROPOSED, not measured: calibrate from the worker's "Model profiling run took ..." / "Free device
# memory" log lines on a real card.
GAUDI_WORKSPACE_GIB = 4.0


# VLLM_GRAPH_RESERVED_MEM's default: the share of the free memory kept for HPU graphs (vllm-gaudi and the fork;
# 0 with --enforce-eager).
GAUDI_GRAPH_RESERVED_DEFAULT = 0.1


# gpu_memory_utilization's default per vLLM version (when the command line does not set it): 0.26/0.33
# config/cache.py `Field(default=0.92)`; 0.10.2 config/cache.py:42 and the fork vllm/config.py:1453 0.9.
def default_utilisation(vllm_version: str) -> float:
    return 0.9 if vllm_version.startswith(("0.9", "0.10")) else 0.92


# Xeon: the API server and the engine core process, GiB. PROPOSED, not measured (calibrate from their RSS after
# warm-up on a real node).
XEON_SERVER_OVERHEAD_GIB = 2.0


# Xeon: per tensor/pipeline-parallel rank (one worker process each: torch, oneDNN scratch, the compile cache,
# activations for --max-num-batched-tokens 2048), GiB. PROPOSED, not measured.
XEON_RANK_OVERHEAD_GIB = 1.5


# vLLM 0.10.2 on CPU without VLLM_CPU_KVCACHE_SPACE: 4 GiB per rank (platforms/cpu.py:106-120). 0.26/0.33 size
# it from the host NUMA node's MemTotal instead (not the pod's limit), so the Xeon stacks always set it.
XEON_KV_DEFAULT_0_10_GIB = 4


# Defaults that follow tensor parallelism: when the platform's memory would not hold the model, the pod gets
# what it needs plus this share (requests = limits on Xeon, Guaranteed QoS).
DEFAULT_MEMORY_HEADROOM = 1.1


# Bytes per weight by the dtype vLLM loads (`--dtype`, else the checkpoint's torch_dtype).
DTYPE_BYTES: Mapping[str, float] = MappingProxyType({
    "bfloat16": 2, "float16": 2, "half": 2, "float": 4, "float32": 4, "fp8": 1, "int8": 1,
})


# Accelerator resources that are never this program's: another vendor's cards cannot run these images.
FOREIGN_ACCELERATORS = ("nvidia.com/", "amd.com/", "gpu.intel.com/")
