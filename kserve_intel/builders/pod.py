"""What every serving container the program describes shares: KServe's container name and env as a list."""

from __future__ import annotations

from typing import Any

from ..config.stack import DEFAULT_HF_ENDPOINT
from ..plan import StackPlan


CONTAINER_NAME = "kserve-container"  # KServe merges the predictor into this name


def env_list(env: dict[str, str] | Any) -> list[dict[str, str]]:
    return [{"name": key, "value": value} for key, value in sorted(env.items())]


def hub_env(plan: StackPlan) -> list[dict[str, str]]:
    """`HF_ENDPOINT` for every container that downloads from the hub (vLLM, the weights Job, KServe's storage
    initializer and local-model download jobs): huggingface_hub reads it; empty for the public hub."""
    if plan.config.hf_endpoint == DEFAULT_HF_ENDPOINT:
        return []
    return [{"name": "HF_ENDPOINT", "value": plan.config.hf_endpoint}]
