"""Capacity: does the pod's memory (Xeon) or each card's HBM (Gaudi) hold the model, its KV cache and the runtime?

Per model, from its shape (catalog/model_shapes.py), its parallelism, its context length, the resolved command
line and environment, and the platform's facts (catalog/capacity.py):

Xeon (vLLM CPU backend), one pod:

    needed = weights + ranks x VLLM_CPU_KVCACHE_SPACE + server overhead + ranks x rank overhead

    weights are sharded across the ranks (counted once); every rank (tensorParallelSize x pipelineParallelSize
    worker processes) allocates its own KV space (vllm v1/worker/cpu_worker.py determine_available_memory).
    Refused when the memory limit is below `needed`; when the profile's default would not hold it, the default
    follows (requests = limits = needed x 1.1). Each rank's KV space must also hold one request of maxModelLen.

Gaudi (vllm-gaudi / the HabanaAI fork), per card:

    weights per card = weights / (tensorParallelSize x pipelineParallelSize)
    KV per card      = (HBM - weights per card - workspace) x gpu-memory-utilization x (1 - VLLM_GRAPH_RESERVED_MEM)

    (vllm_gaudi/v1/worker/hpu_worker.py determine_available_memory: the utilisation applies to what is free
    after the weights, not to the whole card.) Refused when the weights do not fit a card, or when the KV cache
    left cannot hold one request of maxModelLen (vLLM's own start-up refusal).

Also here, for every model and backend: memory requests above limits, zero cpu or memory, accelerator
resources of another platform, and a VLLM_CPU_KVCACHE_SPACE vLLM would misread. Pure: plan.py calls it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..catalog.capacity import (DEFAULT_MEMORY_HEADROOM, DTYPE_BYTES, FOREIGN_ACCELERATORS,
                                GAUDI_GRAPH_RESERVED_DEFAULT, GAUDI_WORKSPACE_GIB, GIB, HBM_GIB,
                                XEON_KV_DEFAULT_0_10_GIB, XEON_RANK_OVERHEAD_GIB, XEON_SERVER_OVERHEAD_GIB,
                                default_utilisation)
from ..catalog.model_shapes import ModelShape
from ..catalog.serving_stacks import ServingStack
from ..config.values import quantity_bytes
from ..errors import ConfigIssue
from .flags import read_args

KV_SPACE = "VLLM_CPU_KVCACHE_SPACE"


@dataclass(frozen=True)
class Capacity:
    """What one model's pod needs and gets, in GiB (the `capacity` output and the preview line)."""

    platform: str
    weights_gib: float
    ranks: int
    max_model_len: int
    shape_source: str
    # Xeon: the KV space of each rank and the pod's memory.
    kv_per_rank_gib: float | None = None
    memory_needed_gib: float | None = None
    memory_limit: str | None = None
    # Gaudi: cards per pod and what each holds.
    cards: int = 0
    hbm_per_card_gib: float | None = None
    weights_per_card_gib: float | None = None
    kv_per_card_gib: float | None = None
    utilisation: float | None = None
    # KV one request of maxModelLen takes on one rank/card.
    kv_one_request_gib: float = 0.0

    @property
    def kv_gib(self) -> float:
        """The KV cache of the whole pod: every rank's (Xeon) or every card's (Gaudi)."""
        if self.kv_per_rank_gib is not None:
            return self.kv_per_rank_gib * self.ranks
        return (self.kv_per_card_gib or 0.0) * self.cards

    def line(self, name: str) -> str:
        """One line a reviewer reads in the preview."""
        if self.cards:
            return (f"capacity {name}: weights {self.weights_gib:.1f} GiB ({self.weights_per_card_gib:.1f} GiB per card), "
                    f"KV cache {self.kv_per_card_gib:.1f} GiB per card ({self.kv_one_request_gib:.2f} GiB for one "
                    f"{self.max_model_len}-token request), {self.cards} card{'s' if self.cards != 1 else ''} x "
                    f"{self.hbm_per_card_gib:.0f} GiB HBM "
                    f"at utilisation {self.utilisation:g}")
        return (f"capacity {name}: weights {self.weights_gib:.1f} GiB, KV cache {self.kv_gib:.1f} GiB "
                f"({self.ranks} rank(s) x {self.kv_per_rank_gib:g} GiB), memory needed {self.memory_needed_gib:.1f} GiB "
                f"of limit {self.memory_limit}")

    def output(self) -> dict[str, Any]:
        out: dict[str, Any] = {"platform": self.platform, "weightsGiB": round(self.weights_gib, 1),
                               "kvCacheGiB": round(self.kv_gib, 1), "ranks": self.ranks,
                               "maxModelLen": self.max_model_len,
                               "kvOneRequestGiB": round(self.kv_one_request_gib, 2), "shape": self.shape_source}
        if self.cards:
            out.update(cards=self.cards, hbmPerCardGiB=self.hbm_per_card_gib,
                       weightsPerCardGiB=round(self.weights_per_card_gib or 0, 1),
                       kvPerCardGiB=round(self.kv_per_card_gib or 0, 1), utilisation=self.utilisation)
        else:
            out.update(kvPerRankGiB=self.kv_per_rank_gib, memoryNeededGiB=round(self.memory_needed_gib or 0, 1),
                       memoryLimit=self.memory_limit)
        return out


@dataclass(frozen=True)
class CapacityResult:
    capacity: Capacity | None
    issues: tuple[ConfigIssue, ...] = ()
    # The pod's memory when the default follows the need (Xeon); None: unchanged.
    memory: str | None = None


def _gib(value: float) -> str:
    return f"{value:.1f}"


def effective_options(stack: ServingStack, argv: Sequence[str]) -> dict[str, str | None]:
    """Option dest -> the value the server ends up with (the last one wins), from the whole command line."""
    table = stack.options
    if table is None:
        return {}
    values: dict[str, str | None] = {}
    for given in read_args(table, list(argv), stack.extra_known_args).options:
        if given.dotted:
            continue
        negative = given.spelling in given.option.negative
        values[given.option.dest] = given.value if given.option.takes_value else ("false" if negative else "true")
    return values


def _weight_bytes(shape: ModelShape, options: Mapping[str, str | None]) -> float | None:
    if shape.parameters is None:
        return None
    if shape.quantized_bits is not None:
        return shape.parameters * shape.quantized_bits / 8
    dtype = options.get("dtype") or "auto"
    if dtype == "auto":
        dtype = (shape.torch_dtype or "bfloat16").replace("torch.", "")
    return shape.parameters * DTYPE_BYTES.get(dtype, 2)


def _kv_dtype_bytes(options: Mapping[str, str | None]) -> float:
    kv_dtype = options.get("kv_cache_dtype") or "auto"
    return 1 if kv_dtype.startswith("fp8") else 2


def _kv_one_request(shape: ModelShape, tp: int, pp: int, max_len: int, block: int, kv_bytes: float) -> float:
    """Bytes of KV cache one request of max_len tokens takes on one rank (vLLM's start-up check)."""
    blocks = math.ceil(max_len / block)
    return blocks * block * shape.kv_bytes_per_token(tp, pp, kv_bytes)


def kv_space_issues(path: str, env: Mapping[str, str]) -> list[ConfigIssue]:
    """VLLM_CPU_KVCACHE_SPACE as vLLM reads it: a whole number of GiB per rank; "" or 0 break the start."""
    if KV_SPACE not in env:
        return []
    value = env[KV_SPACE]
    if not value.strip().isdigit() or int(value) <= 0:
        why = ("0 leaves no KV cache: vLLM stops with 'No available memory for the cache blocks'" if
               value.strip().isdigit() else
               "an empty value makes vLLM 0.26+ size the KV cache from the host NUMA node's memory, not the pod's "
               "limit, and the pod is OOM-killed" if not value.strip() else
               "vLLM reads it with int() and stops at start")
        return [ConfigIssue(f"{path}.env.{KV_SPACE}", f"must be a whole number of GiB above 0 (the KV cache each "
                            f"rank allocates); {why}", value)]
    return []


def resource_issues(path: str, platform: str, accelerator: str | None,
                    resources: Mapping[str, Mapping[str, str]]) -> list[ConfigIssue]:
    """Requests above limits, zero cpu or memory, another platform's accelerators."""
    issues: list[ConfigIssue] = []
    for kind in ("requests", "limits"):
        for name, quantity in resources.get(kind, {}).items():
            key = f"{path}.resources.{kind}.{name}"
            if name.startswith(FOREIGN_ACCELERATORS):
                issues.append(ConfigIssue(key, f"is another vendor's accelerator; the {platform} images run on "
                                          f"{accelerator or 'Xeon CPUs'} only; remove it", quantity))
            elif name.startswith("habana.ai/") and accelerator is None:
                issues.append(ConfigIssue(key, f"asks for Gaudi cards on {platform}, whose pods run on CPUs (the "
                                          "scheduler would wait for a Gaudi node); remove it or set platform gaudi "
                                          "or gaudi3", quantity))
            elif name in ("cpu", "memory") and quantity_bytes(quantity) <= 0:
                issues.append(ConfigIssue(key, f"is zero; a pod with no {name} cannot start the server; allowed: a "
                                          "positive quantity", quantity))
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    for name in ("cpu", "memory"):
        if name in requests and name in limits and quantity_bytes(limits[name]) > 0 and \
                quantity_bytes(requests[name]) > quantity_bytes(limits[name]):
            issues.append(ConfigIssue(f"{path}.resources.requests.{name}", f"is above limits.{name} "
                                      f"({limits[name]}); Kubernetes refuses such a pod; allowed: at most "
                                      f"{limits[name]}", requests[name]))
    return issues


def plan_capacity(path: str, platform: str, stack: ServingStack, shape: ModelShape | None, tp: int, pp: int,
                  nodes: int, max_len: int, argv: Sequence[str], env: Mapping[str, str],
                  resources: Mapping[str, Mapping[str, str]], memory_given: bool) -> CapacityResult:
    """The model's capacity, what it refuses, and the memory a default that follows it gives (vLLM only)."""
    if shape is None or stack.backend != "vllm":
        return CapacityResult(None)
    options = effective_options(stack, argv)
    weights = _weight_bytes(shape, options)
    if weights is None:
        return CapacityResult(None)
    block = int(options.get("block_size") or 128) if (options.get("block_size") or "128").isdigit() else 128
    kv_bytes = _kv_dtype_bytes(options)
    one_request = _kv_one_request(shape, tp, pp, max_len, block, kv_bytes)
    if platform == "xeon":
        return _xeon(path, stack, shape, tp * pp, max_len, weights, one_request, env, resources, memory_given)
    return _gaudi(path, platform, stack, tp, pp, nodes, max_len, weights, one_request, options, env, shape)


def _xeon(path, stack, shape, ranks, max_len, weights, one_request, env, resources, memory_given) -> CapacityResult:
    if KV_SPACE in env:
        if kv_space_issues(path, env):
            return CapacityResult(None)  # refused by kv_space_issues already
        kv_rank = float(env[KV_SPACE])
    elif stack.version.startswith("0.10"):
        kv_rank = float(XEON_KV_DEFAULT_0_10_GIB)
    else:
        return CapacityResult(None, (ConfigIssue(f"{path}.env.{KV_SPACE}", f"is unset: {stack.server} then sizes "
                                                 "the KV cache from the host NUMA node's memory, not the pod's "
                                                 "limit; set a whole number of GiB", None),))
    overhead = XEON_SERVER_OVERHEAD_GIB + ranks * XEON_RANK_OVERHEAD_GIB
    needed = weights / GIB + ranks * kv_rank + overhead
    limit = resources.get("limits", {}).get("memory")
    issues: list[ConfigIssue] = []
    memory = None
    if limit is not None and quantity_bytes(limit) < needed * GIB:
        if memory_given:
            at_least = math.ceil(needed)
            issues.append(ConfigIssue(
                f"{path}.resources.limits.memory", f"holds {quantity_bytes(limit) / GIB:.1f} GiB but the pod needs "
                f"{needed:.1f} GiB: weights {weights / GIB:.1f} GiB + {ranks} rank(s) (tensorParallelSize x "
                f"pipelineParallelSize) x {kv_rank:g} GiB KV cache each ({KV_SPACE}, allocated by every rank) + "
                f"{overhead:.1f} GiB runtime; allowed: at least {at_least}Gi, or a lower env.{KV_SPACE} or "
                "tensorParallelSize", limit))
        else:
            memory = f"{math.ceil(needed * DEFAULT_MEMORY_HEADROOM)}Gi"
            limit = memory
    if one_request > kv_rank * GIB:
        fits = int(kv_rank * GIB // shape.kv_bytes_per_token(ranks, 1))
        issues.append(ConfigIssue(
            f"{path}.env.{KV_SPACE}", f"gives each rank {kv_rank:g} GiB of KV cache but one {max_len}-token request "
            f"(maxModelLen) needs {one_request / GIB:.2f} GiB on each rank; vLLM refuses to start ('To serve at least "
            f"one request with the model's max seq len'); allowed: at least {math.ceil(one_request / GIB)}, or "
            f"maxModelLen <= {fits}", env.get(KV_SPACE, str(kv_rank))))
    capacity = Capacity(platform="xeon", weights_gib=weights / GIB, ranks=ranks, max_model_len=max_len,
                        shape_source=shape.source, kv_per_rank_gib=kv_rank, memory_needed_gib=needed,
                        memory_limit=limit, kv_one_request_gib=one_request / GIB)
    return CapacityResult(capacity, tuple(issues), memory)


def _float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _gaudi(path, platform, stack, tp, pp, nodes, max_len, weights, one_request, options, env, shape) -> CapacityResult:
    hbm = HBM_GIB[platform]
    ranks = tp * pp
    cards = tp if nodes > 1 else ranks
    per_card = weights / ranks / GIB
    utilisation = _float(options.get("gpu_memory_utilization"), default_utilisation(stack.version))
    eager = options.get("enforce_eager") == "true"
    graph = 0.0 if eager else _float(env.get("VLLM_GRAPH_RESERVED_MEM"), GAUDI_GRAPH_RESERVED_DEFAULT)
    free = hbm - per_card - GAUDI_WORKSPACE_GIB
    kv_card = max(free, 0.0) * utilisation * (1 - graph)
    issues: list[ConfigIssue] = []
    key = "nodes" if nodes > 1 else "tensorParallelSize"
    if free <= 0:
        least = math.ceil(weights / GIB / (hbm - GAUDI_WORKSPACE_GIB))
        issues.append(ConfigIssue(
            f"{path}.{key}", f"puts {per_card:.1f} GiB of weights on each {platform} card ({weights / GIB:.1f} GiB over "
            f"{ranks} cards, tensorParallelSize x pipelineParallelSize) but a card has {hbm:g} GiB of HBM, "
            f"{hbm - GAUDI_WORKSPACE_GIB:g} GiB after the runtime's workspace: the weights cannot load; allowed: at "
            f"least {least} cards per replica (tensorParallelSize, or nodes for more than one node)",
            nodes if nodes > 1 else tp))
    elif one_request > kv_card * GIB:
        per_token = shape.kv_bytes_per_token(tp, pp, 1 if (options.get("kv_cache_dtype") or "").startswith("fp8") else 2)
        fits = int(kv_card * GIB // per_token)
        issues.append(ConfigIssue(
            f"{path}.maxModelLen", f"needs {one_request / GIB:.2f} GiB of KV cache per card for one {max_len}-token "
            f"request, but each {platform} card has {kv_card:.2f} GiB left for it ((HBM {hbm:g} - weights "
            f"{per_card:.1f} - workspace {GAUDI_WORKSPACE_GIB:g}) x --gpu-memory-utilization {utilisation:g} x "
            f"(1 - VLLM_GRAPH_RESERVED_MEM {graph:g})); vLLM refuses to start; allowed: maxModelLen <= {fits}, or "
            "more cards (tensorParallelSize)", max_len))
    capacity = Capacity(platform=platform, weights_gib=weights / GIB, ranks=ranks, max_model_len=max_len,
                        shape_source=shape.source, cards=cards, hbm_per_card_gib=hbm, weights_per_card_gib=per_card,
                        kv_per_card_gib=kv_card, utilisation=utilisation, kv_one_request_gib=one_request / GIB)
    return CapacityResult(capacity, tuple(issues))


def capacity_lines(models: Iterable[Any]) -> list[str]:
    """The preview line of every model with a capacity (duck-typed model plans)."""
    return [m.capacity.line(m.name) for m in models if getattr(m, "capacity", None) is not None]


def capacity_output(models: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The `capacity` stack output: per model name, what its pod needs and gets, or why it was not computed."""
    out: dict[str, dict[str, Any]] = {}
    for m in models:
        if m.capacity is not None:
            out[m.name] = {"model": m.id, **m.capacity.output()}
        elif m.backend != "vllm":
            out[m.name] = {"model": m.id, "checked": False,
                           "reason": f"{m.backend} sizes its own memory; the capacity rule models vLLM"}
        else:
            out[m.name] = {"model": m.id, "checked": False,
                           "reason": "model shape unknown (not in the catalogue and its config.json was not read)"}
    return out
