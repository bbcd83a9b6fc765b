"""A model's shape: the architecture facts vLLM checks at start and the capacity rule sizes memory from.

For every catalogue model the facts are data (data/model_shapes.yaml: heads, KV heads, layers, head size,
context length and rope scaling, parameter count, dtype), each entry naming the config.json it was read from.
Any other model's shape is read from its `config.json` on the hub during `pulumi preview`/`up`
(online/hub.py, through components/hub_access.py) and parsed here by `shape_from_config`, so both paths give
the same `ModelShape`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

SHAPES_FILE = Path(__file__).parent / "data" / "model_shapes.yaml"


# The keys vLLM reads a model's maximum length from, in hf_text_config (0.33.0
# transformers_utils/model_arch_config_convertor.py:374-405; the same list in 0.9-0.26 config.py).
CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length",
                "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len")


# Rope types whose max_position_embeddings is already the scaled length (vLLM does not multiply by `factor`).
# 0.33.0 config/model.py:2607-2633; 0.26.0 :2212-2225, 0.10.2 config/__init__.py:2873-2897, 0.9.0.1
# config.py:3219 (the HabanaAI fork :3371): the older versions skip only the first three and compute `yarn`
# as original_max_position_embeddings x factor.
_ALREADY_SCALED_0_33 = frozenset({"su", "longrope", "llama3", "yarn", "deepseek_yarn", "deepseek_llama_scaling"})
_ALREADY_SCALED_OLDER = frozenset({"su", "longrope", "llama3"})


# vLLM's fallback when a config names no maximum length (with a warning).
DEFAULT_CONTEXT = 2048


@dataclass(frozen=True)
class ModelShape:
    """What vLLM reads from a model's config.json, plus its parameter count."""

    id: str
    attention_heads: int
    kv_heads: int
    layers: int
    hidden_size: int
    head_dim: int
    # Every maximum-length key the config has (CONTEXT_KEYS), as vLLM reads them.
    context: Mapping[str, int] = field(default_factory=dict)
    rope_scaling: Mapping[str, Any] | None = None
    parameters: int | None = None
    torch_dtype: str | None = None
    # Bits per weight when the checkpoint is quantized (config.json quantization_config); None: not quantized.
    quantized_bits: float | None = None
    # Where the facts come from, for messages and the capacity output.
    source: str = ""

    def derived_max_len(self, vllm_version: str) -> tuple[int, str]:
        """The longest context vLLM of this version accepts without VLLM_ALLOW_LONG_MAX_MODEL_LEN, and why."""
        present = {k: v for k, v in self.context.items() if isinstance(v, int) and v > 0}
        if not present:
            return DEFAULT_CONTEXT, f"no maximum length in its config.json (vLLM's fallback {DEFAULT_CONTEXT})"
        key = min(present, key=lambda k: present[k])
        length, why = present[key], f"{key}={present[key]}"
        rope = dict(self.rope_scaling or {})
        rope_type = rope.get("rope_type") or rope.get("type")
        factor = rope.get("factor")
        if rope_type and factor and key != "model_max_length":
            scaled = _ALREADY_SCALED_0_33 if _at_least(vllm_version, (0, 33)) else _ALREADY_SCALED_OLDER
            if rope_type not in scaled:
                if rope_type == "yarn" and rope.get("original_max_position_embeddings"):
                    length = int(rope["original_max_position_embeddings"] * factor)
                    why += f", yarn: original_max_position_embeddings x factor {factor:g}"
                else:
                    length = int(length * factor)
                    why += f" x rope_scaling factor {factor:g} ({rope_type})"
        if "model_max_length" in present and key != "model_max_length":
            length = min(length, present["model_max_length"])
        return length, why

    def kv_bytes_per_token(self, tp: int = 1, pp: int = 1, dtype_bytes: float = 2) -> int:
        """KV cache bytes one token takes on one rank: its stage's layers, its share of the KV heads."""
        layers = math.ceil(self.layers / pp)
        heads = max(1, self.kv_heads // tp)
        return int(2 * layers * heads * self.head_dim * dtype_bytes)


def _at_least(version: str, wanted: tuple[int, int]) -> bool:
    parts = [int(p) for p in version.split("+")[0].split(".")[:2] if p.isdigit()]
    return tuple(parts) >= wanted


def _text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """vLLM reads the language model's facts from `text_config` when the config has one (Llama 4)."""
    text = config.get("text_config")
    return text if isinstance(text, Mapping) else config


def count_parameters(c: Mapping[str, Any]) -> int | None:
    """Parameters of a decoder from its config (the formula of notes/issue-22.md "Parameter formula").

    Embeddings (and an untied lm_head), per layer q/k/v/o, a gated MLP or the experts (with router and a shared
    expert), and the norms; Qwen2 adds q/k/v biases, Qwen3 q/k norms. Vision towers are not counted.
    """
    try:
        hidden, heads, layers, vocab = (int(c["hidden_size"]), int(c["num_attention_heads"]),
                                        int(c["num_hidden_layers"]), int(c["vocab_size"]))
    except (KeyError, TypeError, ValueError):
        return None
    kv = int(c.get("num_key_value_heads") or heads)
    head_dim = int(c.get("head_dim") or hidden // heads)
    model_type = str(c.get("model_type") or "")
    attention = hidden * heads * head_dim + 2 * hidden * kv * head_dim + heads * head_dim * hidden
    if model_type.startswith("qwen2"):
        attention += heads * head_dim + 2 * kv * head_dim
    if model_type.startswith("qwen3"):
        attention += 2 * head_dim
    experts = c.get("num_local_experts") or c.get("num_experts") or 0
    if experts:
        moe_size = int(c.get("moe_intermediate_size") or c.get("intermediate_size") or 0)
        mlp = int(experts) * 3 * hidden * moe_size + hidden * int(experts)
        if model_type.startswith("llama4"):
            mlp += 3 * hidden * moe_size  # the shared expert
    else:
        mlp = 3 * hidden * int(c.get("intermediate_size") or 4 * hidden)
    per_layer = attention + mlp + 2 * hidden
    embeddings = vocab * hidden * (1 if c.get("tie_word_embeddings") else 2)
    return embeddings + layers * per_layer + hidden


def _quantized_bits(config: Mapping[str, Any]) -> float | None:
    quant = config.get("quantization_config")
    if not isinstance(quant, Mapping):
        return None
    bits = quant.get("bits") or quant.get("w_bit") or quant.get("weight_bits")
    if isinstance(bits, (int, float)) and not isinstance(bits, bool):
        return float(bits)
    method = str(quant.get("quant_method") or "")
    return 8.0 if method in ("fp8", "fbgemm_fp8", "compressed-tensors") else None


def shape_from_config(model_id: str, config: Mapping[str, Any], source: str) -> ModelShape | None:
    """A hub config.json as a `ModelShape`; None when it lacks the facts (not a decoder vLLM can size)."""
    text = _text_config(config)
    try:
        heads = int(text["num_attention_heads"])
        layers = int(text["num_hidden_layers"])
        hidden = int(text["hidden_size"])
    except (KeyError, TypeError, ValueError):
        return None
    kv = int(text.get("num_key_value_heads") or heads)
    head_dim = int(text.get("head_dim") or hidden // heads)
    context = {k: int(text[k]) for k in CONTEXT_KEYS if isinstance(text.get(k), int) and not isinstance(text[k], bool)}
    rope = text.get("rope_scaling") if isinstance(text.get("rope_scaling"), Mapping) else None
    dtype = config.get("torch_dtype") or config.get("dtype") or text.get("torch_dtype")
    return ModelShape(id=model_id, attention_heads=heads, kv_heads=kv, layers=layers, hidden_size=hidden,
                      head_dim=head_dim, context=MappingProxyType(context),
                      rope_scaling=MappingProxyType(dict(rope)) if rope else None,
                      parameters=count_parameters(text), torch_dtype=str(dtype) if dtype else None,
                      quantized_bits=_quantized_bits(config), source=source)


@lru_cache(maxsize=1)
def _catalogue_shapes() -> Mapping[str, ModelShape]:
    raw = yaml.safe_load(SHAPES_FILE.read_text())
    shapes: dict[str, ModelShape] = {}
    for model_id, facts in raw["models"].items():
        moe = facts.get("moe") or {}
        config = {**facts, **moe}
        source = facts.get("source") or {}
        where = (f"catalogue: config.json read from {source['read_from']}" if source.get("read_from") else
                 "catalogue: facts not read from a copy of its config.json (model_shapes.yaml `unverified`)")
        shape = shape_from_config(model_id, config, where)
        assert shape is not None, model_id
        total = (facts.get("parameters") or {}).get("total")
        shapes[model_id.lower()] = ModelShape(**{**shape.__dict__, "parameters": total or shape.parameters,
                                                 "head_dim": int(facts.get("head_dim_effective") or shape.head_dim)})
    for repo, facts in (raw.get("openvino") or {}).items():
        base = shapes.get(str(facts.get("architecture_as", "")).lower())
        if base is not None:
            bits = 4.0 if "int4" in str(facts.get("weight_format", "")) else 8.0
            shapes[repo.lower()] = ModelShape(**{**base.__dict__, "id": repo, "quantized_bits": bits,
                                                 "source": f"catalogue: {base.id}'s facts (an OpenVINO export keeps its config.json)"})
    return MappingProxyType(shapes)


def catalogue_shape(model_id: str) -> ModelShape | None:
    """The catalogue's facts for a model id (case-insensitive, as the hub), or None."""
    return _catalogue_shapes().get(model_id.lower())
