"""Load the stack configuration: parse every key with the pydantic models (config/), then run every
cross-key rule (rules/), and report all problems at once.

`load_config` turns the raw `kserve-intel:*` values Pulumi hands the program into a validated, immutable
`StackConfig`, or raises one `ConfigError` that lists every bad key with its value and what is allowed.
Checks that need resolved values (which stack a model runs, names against KServe's limits, the registry's
answers) run while plan.py resolves, through the same rules/ modules, and raise the same `ConfigError`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Iterable, Mapping, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .config.stack import SECRET_FIELDS, SECRET_KEYS, Platform, StackConfig
from .errors import CONFIG_NAMESPACE, ConfigError, ConfigIssue
from .rules import (autoscaling, charts, custom_runtimes, hub, kserve, local_model_cache, lora, monitoring, namespace,
                    no_effect, registry, runtimes, serving_stacks, storage, traffic)


def parse_raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Strip the `kserve-intel:` prefix and decode structured values.

    Pulumi passes structured config (objects, lists) as JSON text and scalars
    as plain strings; other namespaces (`kubernetes:context`...) are not ours.
    """
    prefix = CONFIG_NAMESPACE + ":"
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if isinstance(value, str) and value.strip()[:1] in ("{", "["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        data[name] = value
    return data


def load_config(raw: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> StackConfig:
    """Validate raw Pulumi config; raise `ConfigError` listing every problem."""
    data = parse_raw(raw)
    try:
        config = StackConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_issues_from(error)) from None
    issues = list(_cross_checks(config, set(secret_keys)))
    if issues:
        raise ConfigError(issues)
    return config


def _cross_checks(config: StackConfig, secret_keys: set[str]) -> Iterable[ConfigIssue]:
    """Every rule that involves more than one key, feature by feature (rules/<feature>.py)."""
    names = {k.split(":", 1)[-1] for k in secret_keys}
    yield from charts.repository_issues(config.chart_repositories)
    yield from namespace.namespace_checks(config)
    yield from kserve.kserve_checks(config)
    yield from runtimes.runtimes_checks(config)
    yield from storage.storage_checks(config)
    yield from autoscaling.scaling_checks(config)
    yield from local_model_cache.local_cache_checks(config)
    yield from custom_runtimes.custom_checks(config)
    yield from serving_stacks.serving_stack_checks(config)
    yield from monitoring.monitoring_checks(config.monitoring)
    yield from traffic.traffic_checks(config, names)
    yield from hub.validate_token_checks(config)
    yield from registry.registry_checks(config, names)
    yield from lora.lora_rules(config)
    yield from hub.token_secret_checks(config, names)
    yield from no_effect.empty_models_issues(config)


def _issues_from(error: ValidationError) -> list[ConfigIssue]:
    issues = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = _path(loc)
        kind = item["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            message = "unknown key; allowed keys: " + ", ".join(allowed)
        elif kind == "missing":
            issues.append(ConfigIssue(path, "is required" + _choices_hint(loc)))
            continue
        else:
            message = item["msg"]
            if message.startswith("Value error, "):
                message = message[len("Value error, "):]
        secret = loc and (loc[0] in SECRET_KEYS or SECRET_FIELDS.intersection(map(str, loc)))
        value = "[secret]" if secret else item.get("input")
        issues.append(ConfigIssue(path, message, value))
    return issues


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _field_type(model: type[BaseModel], alias: str) -> Any:
    for name, info in model.model_fields.items():
        if (info.alias or name) == alias:
            return info.annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/list/Annotated to the model class a path steps into."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (list, Union) or str(origin) == "<class 'types.UnionType'>":
            candidates = [a for a in get_args(annotation) if a is not type(None)]
            models = [a for a in candidates if isinstance(a, type) and issubclass(a, BaseModel)]
            annotation = models[0] if models else candidates[0]
        else:
            return annotation


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        model = _unwrap(_field_type(model, part))
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _choices_hint(loc: tuple[Any, ...]) -> str:
    if loc == ("platform",):
        return "; allowed: " + ", ".join(get_args(Platform))
    return ""
