"""The Hugging Face hub: `hfToken`, `validateToken`, `hfEndpoint` and which models need the token."""

from __future__ import annotations

from typing import Any, Iterable

from ..catalog.model_shapes import ModelShape, catalogue_shape, shape_from_config
from ..config.stack import StackConfig
from ..errors import ConfigIssue
from ..online.hub import ConfigNotReadable, HubUnreachable, read_model_config

SKIPPED = "shape and capacity checks skipped for them (docs/capacity.md)"


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


def shapes_wanted(config: StackConfig) -> list[tuple[str, str, str | None]]:
    """(key path, id, revision) of every model whose shape the catalogue lacks, once per id and revision."""
    wanted: dict[tuple[str, str | None], str] = {}
    for i, model in enumerate(config.models):
        if catalogue_shape(model.id) is None:
            wanted.setdefault((model.id.lower(), model.revision), f"models[{i}]")
    ids = {m.id.lower(): m.id for m in config.models}
    return [(path, ids[key], revision) for (key, revision), path in wanted.items()]


def read_shapes(config: StackConfig, offline_reason: str | None = None) -> tuple[dict[str, ModelShape], list[str]]:
    """The shapes of the models the catalogue lacks, read from their config.json on the hub (`hfEndpoint`, with
    `hfToken`), and the warnings for those that could not be read: one warning per reason.

    No call when `offline_reason` is given (the offline render) or with `validateToken: false` (air-gapped).
    """
    wanted = shapes_wanted(config)
    if not wanted:
        return {}, []
    listed = ", ".join(f"{path} {model_id}" for path, model_id, _ in wanted)
    if offline_reason is not None:
        return {}, [f"model shape not read from the hub ({offline_reason}) for {listed}; {SKIPPED}"]
    if not config.validate_token:
        return {}, [f"validateToken is false, so the hub is not asked for the config.json of {listed}; {SKIPPED}"]
    token = config.hf_token.get_secret_value() if config.hf_token is not None else None
    shapes: dict[str, ModelShape] = {}
    unreadable: list[str] = []
    for index, (path, model_id, revision) in enumerate(wanted):
        try:
            raw = read_model_config(model_id, token, config.hf_endpoint, revision)
        except HubUnreachable as error:
            rest = ", ".join(f"{p} {m}" for p, m, _ in wanted[index:])
            return shapes, [f"cannot read model shapes from {config.hf_endpoint} ({error}) for {rest}; {SKIPPED}"]
        except ConfigNotReadable as error:
            unreadable.append(f"{path} {model_id}: {error}")
            continue
        url = f"{config.hf_endpoint.rstrip('/')}/{model_id}/resolve/{revision or 'main'}/config.json"
        shape = shape_from_config(model_id, raw, f"hub ({url})")
        if shape is None:
            unreadable.append(f"{path} {model_id}: its config.json names no attention heads, layers or hidden size")
        else:
            shapes[model_id.lower()] = shape
    warnings = [f"model shape not read for {'; '.join(unreadable)}; {SKIPPED}"] if unreadable else []
    return shapes, warnings
