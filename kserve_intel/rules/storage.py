"""`storage`: keys that only mean something for a cache claim (not the emptyDir)."""

from __future__ import annotations

from typing import Iterable

from pydantic.alias_generators import to_camel

from ..config.stack import StackConfig
from ..errors import ConfigIssue


def storage_checks(config: StackConfig) -> Iterable[ConfigIssue]:
    storage = config.storage
    if not storage.enabled:
        for key in ("storage_class", "access_mode", "retain_on_destroy"):
            if storage.explicitly_set(key):
                yield ConfigIssue(
                    f"storage.{to_camel(key)}", "has no effect when storage.enabled is false "
                    "(the cache is an emptyDir); remove it", getattr(storage, key),
                )
