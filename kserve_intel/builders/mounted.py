"""Serving weights that KServe mounts from a `storageUri` instead of downloading them in vLLM."""

from __future__ import annotations

from typing import Any

# Where KServe mounts what `storageUri` names (storage initializer, PVC or local cache).
MOUNTED_MODEL_DIR = "/mnt/models"


def serve_from_mount(container: dict[str, Any], storage_uri: str) -> None:
    """Point vLLM at the mounted copy; the copy is already at the pinned revision."""
    container["storageUri"] = storage_uri
    args = list(container["args"])
    if "--model" in args:
        args[args.index("--model") + 1] = MOUNTED_MODEL_DIR
    elif "--model-id" in args:  # TGI's launcher takes a local directory as its model id
        args[args.index("--model-id") + 1] = MOUNTED_MODEL_DIR
    else:  # `vllm serve <model>`: the model is the first positional argument
        args[0] = MOUNTED_MODEL_DIR
    for flag in ("--revision", "--tokenizer-revision"):
        if flag in args:
            at = args.index(flag)
            del args[at:at + 2]
    container["args"] = args
