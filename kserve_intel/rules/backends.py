"""Each backend's command line for one model, and what a backend other than vLLM cannot do.

vLLM's line is the one the catalogue and the platforms are tuned for (`vllm_args`). TGI's launcher and
OVMS's CLI get their own (`tgi_args`, `ovms_args`), from the options of their pinned source
(catalog/data/), and a custom runtime gets only the model's extraArgs plus environment variables
(rules/custom_runtimes.model_env). Pure: plan.py calls these while it resolves a model.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..catalog.models import OPENVINO_REPOS, CatalogueEntry, PlatformTuning, openvino_repo
from ..catalog.serving_stacks import ServingStack, Tuned
from ..errors import ConfigIssue


def vllm_args(model_id: str, served: str, tp: int, pp: int, max_len: int, entry: CatalogueEntry | None,
              tuning: PlatformTuning | None, revision: str | None, extra_args: Iterable[str],
              stack_tuned: Tuned | None = None, positional: bool = False) -> list[str]:
    args: list[str] = [model_id] if positional else ["--model", model_id]
    args += [
        "--served-model-name", served,
        "--tensor-parallel-size", str(tp),
        "--pipeline-parallel-size", str(pp),
        "--max-model-len", str(max_len),
    ]
    if revision:
        # The tokenizer lives in the same repository; vLLM would read it from the default branch otherwise.
        args += ["--revision", revision, "--tokenizer-revision", revision]
    if entry and entry.tool_call_parser:
        args += ["--enable-auto-tool-choice", "--tool-call-parser", entry.tool_call_parser]
    if stack_tuned is not None:
        args += list(stack_tuned.args)
    if tuning:
        args += list(tuning.args)
    return args + list(extra_args)


def tgi_args(model_id: str, tp: int, max_len: int, revision: str | None, extra_args: Iterable[str],
             stack_tuned: Tuned | None) -> list[str]:
    """text-generation-launcher's options (launcher/src/main.rs @v3.3.7).

    TP maps to `--num-shard` (the launcher counts only CUDA/XPU devices, so it must be explicit on
    Gaudi) and `--sharded true` above one shard. Token limits: total = maxModelLen, input one less
    (the launcher requires input < total), prefill batch = total (it must hold one input).
    """
    args = ["--model-id", model_id]
    if revision:
        args += ["--revision", revision]
    args += ["--num-shard", str(tp)]
    if tp > 1:
        args += ["--sharded", "true"]
    args += ["--max-input-tokens", str(max_len - 1), "--max-total-tokens", str(max_len),
             "--max-batch-prefill-tokens", str(max_len)]
    extra_args = list(extra_args)
    if stack_tuned is not None:
        # The user's value wins; a second occurrence would be an error (clap refuses repeated options).
        given = {a.split("=", 1)[0] for a in extra_args if a.startswith("--")}
        tuned = list(stack_tuned.args)
        for at in range(0, len(tuned), 2):
            if tuned[at] not in given:
                args += tuned[at:at + 2]
    return args + extra_args


def ovms_args(repo: str, served: str, extra_args: Iterable[str]) -> list[str]:
    """ovms options (src/cli_parser.cpp @v2026.3): pull `repo` into the cache claim, then serve it."""
    return ["--source_model", repo, "--model_name", served, *extra_args]


def model_issues(path: str, model: Any, stack: ServingStack, nodes: int, pp: int, tp: int,
                 base_storage_uri: bool) -> Iterable[ConfigIssue]:
    """What only vLLM can do, refused for a model on another backend (before any resource)."""
    if stack.backend == "vllm":
        return
    what = f"serving stack {stack.name} ({stack.server})"
    if nodes > 1:
        yield ConfigIssue(f"{path}.nodes", f"multi-node serving needs vLLM; {what} serves a replica on one node", nodes)
    if pp > 1:
        yield ConfigIssue(f"{path}.pipelineParallelSize", f"pipeline parallelism needs vLLM; {what} has none", pp)
    if model.source is not None:
        yield ConfigIssue(f"{path}.source", f"registry models are served by vLLM only; {what} downloads from "
                          "the hub", model.source.registered_model)
    if base_storage_uri and model.local_cache is not None and stack.backend != "tgi":
        yield ConfigIssue(f"{path}.localCache", f"the local model cache serves vLLM and TGI (from /mnt/models); "
                          f"{what} downloads its own weights", model.local_cache.size)
    if stack.backend == "tgi" and model.served_model_name is not None:
        yield ConfigIssue(f"{path}.servedModelName", f"{what} serves the model under its id (TGI reads the "
                          "OpenAI `model` field as a LoRA adapter id); remove it", model.served_model_name)
    if stack.backend == "ovms":
        if tp > 1:
            yield ConfigIssue(f"{path}.tensorParallelSize", f"{what} serves a model in one process on one socket; "
                              "allowed: 1", tp)
        if model.revision is not None:
            yield ConfigIssue(f"{path}.revision", f"{what} pulls the repository's default branch "
                              "(--source_model has no revision); remove it", model.revision)
        if model.max_model_len is not None:
            yield ConfigIssue(f"{path}.maxModelLen", f"{what} sizes its KV cache dynamically and reads the "
                              "context length from the model; remove it", model.max_model_len)
        if openvino_repo(model.id) is None:
            known = ", ".join(f"{k} ({v})" for k, v in OPENVINO_REPOS.items())
            yield ConfigIssue(f"{path}.id", f"has no OpenVINO repository OVMS can pull without conversion; use an "
                              f"`OpenVINO/*` id (e.g. OpenVINO/Qwen3-8B-int4-ov) or one of: {known}", model.id)
