"""A model's shape against its parallelism and context length: what vLLM refuses at start, refused here first.

Per pinned vLLM version (file:line in notes/issue-22.md, docs/capacity.md "Model shape"):

- `tensorParallelSize` must divide the attention heads (`ModelConfig.verify_with_parallel_config`: "Total number
  of attention heads (64) must be divisible by tensor parallel size (6)");
- and the KV heads: each model's attention layer asserts `kv % tp == 0` when kv >= tp, else `tp % kv == 0`
  (llama.py, qwen2.py `__init__`), after the weights download: worse than the config error;
- `maxModelLen` at most the derived maximum (`_get_and_verify_max_len`: the smallest context key of the config,
  times the rope factor unless the rope type is already scaled); VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 turns vLLM's
  refusal into a warning, and ours too;
- pipeline stages at most the layers: vLLM itself does not check it; a stage would get no layers.
"""

from __future__ import annotations

from typing import Mapping

from ..catalog.model_shapes import ModelShape
from ..errors import ConfigIssue

ALLOW_LONG = "VLLM_ALLOW_LONG_MAX_MODEL_LEN"


def tp_fits(shape: ModelShape, tp: int) -> bool:
    if shape.attention_heads % tp:
        return False
    kv = shape.kv_heads
    return kv % tp == 0 if kv >= tp else tp % kv == 0


def allowed_tp(shape: ModelShape, most: int) -> list[int]:
    return [n for n in range(1, most + 1) if tp_fits(shape, n)]


def default_max_len(shape: ModelShape | None, vllm_version: str, platform_default: int) -> int:
    """The platform's default context, cut to what the model holds (a default never asks for more)."""
    if shape is None:
        return platform_default
    return min(platform_default, shape.derived_max_len(vllm_version)[0])


def shape_issues(path: str, shape: ModelShape, tp: int, pp: int, nodes: int, max_len: int, vllm_version: str,
                 env: Mapping[str, str], max_tp: int, server: str) -> tuple[list[ConfigIssue], list[str]]:
    """(issues, warnings) of one model's parallelism and context against its shape."""
    issues: list[ConfigIssue] = []
    warnings: list[str] = []
    fits = ", ".join(map(str, allowed_tp(shape, max_tp)))
    if shape.attention_heads % tp:
        issues.append(ConfigIssue(
            f"{path}.tensorParallelSize", f"does not divide {shape.id}'s {shape.attention_heads} attention heads; "
            f"{server} refuses to start ('Total number of attention heads ({shape.attention_heads}) must be divisible "
            f"by tensor parallel size ({tp})'); allowed: {fits}", tp))
    elif not tp_fits(shape, tp):
        rule = (f"{shape.kv_heads} KV heads must be a multiple of it" if shape.kv_heads >= tp else
                f"it must be a multiple of the {shape.kv_heads} KV heads")
        issues.append(ConfigIssue(
            f"{path}.tensorParallelSize", f"does not split {shape.id}'s KV heads evenly ({rule}); {server}'s model "
            f"asserts it after downloading the weights; allowed: {fits}", tp))
    if pp > shape.layers:
        key = "nodes" if nodes > 1 else "pipelineParallelSize"
        issues.append(ConfigIssue(
            f"{path}.{key}", f"gives {pp} pipeline stages to {shape.id}'s {shape.layers} layers, so a stage would "
            f"hold no layer (vLLM does not check this itself); allowed: at most {shape.layers}", nodes if nodes > 1 else pp))
    derived, why = shape.derived_max_len(vllm_version)
    if max_len > derived:
        if env.get(ALLOW_LONG) in ("1", "true", "True"):
            warnings.append(f"{path}.maxModelLen {max_len} is beyond {shape.id}'s context ({why}); {ALLOW_LONG}=1 "
                            "lets vLLM start anyway, with positions the model was not trained on")
        else:
            issues.append(ConfigIssue(
                f"{path}.maxModelLen", f"is beyond {shape.id}'s context: {server} derives at most {derived} ({why}) "
                f"and refuses a longer max_model_len at start; allowed: at most {derived} (or set env.{ALLOW_LONG} "
                "'1' to run past it)", max_len))
    return issues, warnings
