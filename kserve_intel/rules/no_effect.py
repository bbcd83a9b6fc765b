"""Keys that would be read and ignored are refused: a setting with no effect is a misunderstanding."""

from __future__ import annotations

from typing import Iterable

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
