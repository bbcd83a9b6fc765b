"""The Hugging Face hub: `hfToken`, `validateToken`, `hfEndpoint` and which models need the token."""

from __future__ import annotations

from typing import Any, Iterable

from ..config.stack import StackConfig
from ..errors import ConfigIssue


def validate_token_checks(config: StackConfig) -> Iterable[ConfigIssue]:
    if config.hf_token is None and config.explicitly_set("validate_token"):
        yield ConfigIssue(
            "validateToken", "has no effect without hfToken (there is no token to validate); remove it",
            config.validate_token,
        )


def token_secret_checks(config: StackConfig, secret_keys: set[str]) -> Iterable[ConfigIssue]:
    """The token is a Pulumi secret, never plain text in the stack file (`secret_keys` without the prefix)."""
    if config.hf_token is not None and "hfToken" not in secret_keys:
        yield ConfigIssue(
            "hfToken", "must be stored encrypted: run `pulumi config set --secret kserve-intel:hfToken <token>`",
        )


def token_required(config: StackConfig, models: Iterable[Any]) -> list[ConfigIssue]:
    if config.hf_token is not None:
        return []
    gated = [m for m in models if m.gated]
    gated_adapters = [(f"{m.config_path}.adapters[{i}]", a.id) for m in models if m.lora is not None
                      for i, a in enumerate(m.lora.adapters) if a.gated]
    if not gated and not gated_adapters:
        return []
    listed = ", ".join([f"{m.config_path} {m.id}" for m in gated] + [f"{k} {i}" for k, i in gated_adapters])
    return [ConfigIssue(
        "hfToken", f"is required because these models are gated on Hugging Face (or unknown to the catalogue; "
        f"set `gated: false` on a model that is not): {listed}. Run "
        "`pulumi config set --secret kserve-intel:hfToken <token>`",
    )]
