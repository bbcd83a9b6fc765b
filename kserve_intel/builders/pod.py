"""What every serving container the program describes shares: KServe's container name and env as a list."""

from __future__ import annotations

from typing import Any


CONTAINER_NAME = "kserve-container"  # KServe merges the predictor into this name


def env_list(env: dict[str, str] | Any) -> list[dict[str, str]]:
    return [{"name": key, "value": value} for key, value in sorted(env.items())]
