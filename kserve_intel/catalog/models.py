"""Intel's tuned settings for the models its production vLLM charts list.

A model id not listed here still deploys, with the platform defaults; a model's
own config always wins over both (see `plan.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class PlatformTuning:
    """Per-platform settings Intel validated for one model."""

    tensor_parallel_size: int = 1
    # Nodes one replica spans: tensor parallel inside a node, pipeline parallel across nodes.
    nodes: int = 1
    max_model_len: int | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    # Gated repositories on the Hugging Face hub need a token with access.
    gated: bool
    tool_call_parser: str | None = None
    platforms: Mapping[str, PlatformTuning] = field(default_factory=dict)

    def tuning(self, platform: str) -> PlatformTuning | None:
        return self.platforms.get(platform)


_TP1 = PlatformTuning()
_TP2 = PlatformTuning(tensor_parallel_size=2)
_TP4 = PlatformTuning(tensor_parallel_size=4)
_TP8 = PlatformTuning(tensor_parallel_size=8)


def _entry(model_id: str, gated: bool, parser: str | None, **platforms: PlatformTuning) -> CatalogueEntry:
    return CatalogueEntry(model_id, gated, parser, MappingProxyType(platforms))


_ENTRIES = (
    # Meta Llama: gated on the hub.
    _entry("meta-llama/Llama-3.1-8B-Instruct", True, "llama3_json", xeon=_TP1, gaudi=_TP1, gaudi3=_TP1),
    _entry("meta-llama/Llama-3.2-1B-Instruct", True, "llama3_json", xeon=_TP1, gaudi=_TP1, gaudi3=_TP1),
    _entry("meta-llama/Llama-3.2-3B-Instruct", True, "llama3_json", xeon=_TP1, gaudi=_TP1, gaudi3=_TP1),
    _entry("meta-llama/Llama-3.1-70B-Instruct", True, "llama3_json", gaudi=_TP4, gaudi3=_TP4),
    _entry("meta-llama/Llama-3.3-70B-Instruct", True, "llama3_json", gaudi=_TP4, gaudi3=_TP4),
    # 810 GB of bf16 weights: fits eight Gaudi3 cards (8 x 128 GB), not eight Gaudi2 cards
    # (8 x 96 GB): on Gaudi2 one replica spans two nodes (TP 8 per node, PP 2 across them).
    _entry("meta-llama/Llama-3.1-405B-Instruct", True, "llama3_json",
           gaudi=PlatformTuning(tensor_parallel_size=8, nodes=2), gaudi3=_TP8),
    _entry("meta-llama/Llama-4-Scout-17B-16E-Instruct", True, "llama4_json", gaudi=_TP4, gaudi3=_TP4),
    # DeepSeek R1 distills: open weights.
    _entry("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", False, None, xeon=_TP1, gaudi=_TP1, gaudi3=_TP1),
    _entry("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", False, None, gaudi=_TP4, gaudi3=_TP4),
    _entry("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", False, None, xeon=_TP1, gaudi=_TP2, gaudi3=_TP2),
    # Qwen: open weights, Hermes-style tool calls.
    _entry("Qwen/Qwen3-1.7B", False, "hermes", xeon=_TP1),
    _entry("Qwen/Qwen3-4B-Instruct-2507", False, "hermes", xeon=_TP1),
    _entry(
        "Qwen/Qwen3-Coder-30B-A3B-Instruct", False, "qwen3_coder",
        xeon=PlatformTuning(
            max_model_len=32768,
            args=("--max-num-seqs", "8"),
            env=MappingProxyType({"VLLM_CPU_KVCACHE_SPACE": "10", "LOGNAME": "vllm"}),
        ),
    ),
    _entry("Qwen/Qwen2.5-7B-Instruct", False, "hermes", gaudi=_TP1, gaudi3=_TP1),
    _entry("Qwen/Qwen2.5-14B-Instruct", False, "hermes", gaudi=_TP1, gaudi3=_TP1),
    _entry("Qwen/Qwen2.5-32B-Instruct", False, "hermes", gaudi=_TP1, gaudi3=_TP1),
    _entry("Qwen/Qwen2.5-72B-Instruct", False, "hermes", gaudi=_TP4, gaudi3=_TP4),
    # Mistral: gated on the hub.
    _entry("mistralai/Mistral-7B-Instruct-v0.3", True, "mistral", gaudi=_TP1, gaudi3=_TP1),
    _entry("tiiuae/Falcon3-7B-Instruct", False, None, gaudi=_TP1, gaudi3=_TP1),
)

CATALOGUE: Mapping[str, CatalogueEntry] = MappingProxyType({entry.id: entry for entry in _ENTRIES})


def lookup(model_id: str) -> CatalogueEntry | None:
    """Hugging Face ids are case-insensitive on the hub; so is the catalogue."""
    return _BY_LOWER.get(model_id.lower())


_BY_LOWER = {key.lower(): value for key, value in CATALOGUE.items()}


# The OpenVINO Hugging Face repositories OVMS pulls without conversion, for the catalogue's models on
# Xeon. Sources: OVMS v2026.3 docs/demos (Qwen3-Coder, Mistral) and Hugging Face model pages; an
# `OpenVINO/*` id given directly is used as it is.
OPENVINO_REPOS = {
    "Qwen/Qwen3-1.7B": "OpenVINO/Qwen3-1.7B-int4-ov",
    "Qwen/Qwen3-Coder-30B-A3B-Instruct": "OpenVINO/Qwen3-Coder-30B-A3B-Instruct-int4-ov",
    "mistralai/Mistral-7B-Instruct-v0.3": "OpenVINO/Mistral-7B-Instruct-v0.3-int4-ov",
    "Qwen/Qwen2.5-7B-Instruct": "OpenVINO/Qwen2.5-7B-Instruct-int4-ov",
    "Qwen/Qwen2.5-14B-Instruct": "OpenVINO/Qwen2.5-14B-Instruct-int4-ov",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": "OpenVINO/DeepSeek-R1-Distill-Qwen-32B-int4-ov",
}


_OPENVINO_BY_LOWER = {k.lower(): v for k, v in OPENVINO_REPOS.items()}


def openvino_repo(model_id: str) -> str | None:
    """The repository OVMS pulls for a model id: the id itself if it is an OpenVINO/* repo."""
    if model_id.lower().startswith("openvino/"):
        return model_id
    return _OPENVINO_BY_LOWER.get(model_id.lower())
