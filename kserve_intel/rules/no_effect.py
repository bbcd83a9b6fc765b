"""Keys that would be read and ignored are refused: a setting with no effect is a misunderstanding."""

from __future__ import annotations

from typing import Any, Iterable

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from ..config.values import Strict
from ..errors import ConfigIssue


def unused_keys(section: Strict, path: str, reason: str, keep: tuple[str, ...] = ("enabled",)) -> Iterable[ConfigIssue]:
    """Every explicitly set key of a section that has no effect, one issue each."""
    for key in sorted(section.model_fields_set):
        if key not in keep:
            value = getattr(section, key)
            if isinstance(value, BaseModel):
                value = value.model_dump(by_alias=True, exclude_unset=True)
            alias = type(section).model_fields[key].alias or to_camel(key)
            yield ConfigIssue(f"{path}.{alias}", f"has no effect {reason}; remove it", value)


# Sections that only act on models: routes to them, their replicas, their metrics, the policy on their pods.
_ACT_ON_MODELS = (("ingress", "routes to the models"), ("apisix", "routes to the models"),
                  ("gateway_api", "routes to the models"), ("genai_gateway", "lists the models"),
                  ("autoscaling", "scales the models"), ("monitoring", "watches the models' pods"),
                  ("network_policy", "applies to the models' pods"))


def empty_models_issues(config: Any) -> Iterable[ConfigIssue]:
    """With no models, a feature that acts on models has no effect: refused like any key with no effect."""
    if config.models:
        return
    for field, what in _ACT_ON_MODELS:
        section = getattr(config, field)
        if field in config.model_fields_set and section.enabled:
            alias = type(config).model_fields[field].alias or to_camel(field)
            yield ConfigIssue(f"{alias}.enabled", f"has no effect: models is empty and {alias} only {what} (a "
                              "stack without models provides the runtimes alone); remove it or add models", True)
