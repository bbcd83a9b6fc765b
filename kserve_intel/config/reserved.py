"""Options and environment variables the program sets itself, with the config key to use instead.

Setting them in `extraArgs`/`env` would be silently overridden or would fight the key, so every place that
takes server arguments or variables (a model, its canary, a custom runtime) checks them here.
"""

from __future__ import annotations

from .lora import RESERVED_LORA_ARGS
from .values import ENV_NAME


# Flags that have their own config key; setting them in extraArgs would be
# silently overridden or would fight the key.
RESERVED_ARGS = {
    "--model": "id",
    "--served-model-name": "servedModelName",
    "--tensor-parallel-size": "tensorParallelSize",
    "--pipeline-parallel-size": "pipelineParallelSize",
    "--max-model-len": "maxModelLen",
    "--port": "(fixed at 8080: KServe routes to it)",
    "--host": "(vLLM must listen on all interfaces)",
    "--api-key": "(put credentials in Secrets, never in args)",
    "--hf-token": "hfToken",
    "--revision": "revision",
    "--tokenizer-revision": "revision",
    "--code-revision": "revision",
    **RESERVED_LORA_ARGS,
}


# vLLM options with no config key that would take the pod's command line out of the program's hands.
RESERVED_VLLM_ONLY = {
    "--config": "(a YAML file of options would set options the program owns; give each option in extraArgs)",
}


# Environment the program owns: the token comes from a Secret, the cache path
# from the storage settings.
RESERVED_ENV = {
    "HF_TOKEN": "hfToken",
    "HUGGING_FACE_HUB_TOKEN": "hfToken",
    "HF_HOME": "storage",
    "HF_ENDPOINT": "hfEndpoint",
}


def check_extra_args(value: list[str]) -> list[str]:
    """Each item is one argument; the options themselves are read through the stack's parser table
    (rules/flags.py, from rules/serving_stacks.py), where every spelling of a reserved option is refused."""
    for arg in value:
        if not arg.strip():
            raise ValueError("an empty argument is not an option or a value; remove it")
    return value


def check_env(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if not ENV_NAME.match(key):
            raise ValueError(f"{key!r} is not a valid environment variable name")
        if key in RESERVED_ENV:
            raise ValueError(f"{key} is set by the program; use {RESERVED_ENV[key]} instead")
    return value
