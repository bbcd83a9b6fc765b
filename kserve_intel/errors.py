"""One error type for bad stack configuration.

Users see a single message that names each offending key path, the value and
what is allowed, before any resource is registered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CONFIG_NAMESPACE = "kserve-intel"

_UNSET = object()


@dataclass(frozen=True)
class ConfigIssue:
    """One bad value: where it is, what it was, what would be accepted."""

    path: str
    message: str
    value: Any = _UNSET

    def render(self) -> str:
        key = f"{CONFIG_NAMESPACE}:{self.path}" if self.path else CONFIG_NAMESPACE
        if self.value is _UNSET:
            return f"{key}: {self.message}"
        return f"{key} = {_show(self.value)}: {self.message}"


def _show(value: Any) -> str:
    try:
        text = json.dumps(value, sort_keys=True)
    except TypeError:
        text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


class ConfigError(ValueError):
    """Raised with every problem found, so one run shows them all."""

    def __init__(self, issues: list[ConfigIssue]):
        self.issues = list(issues)
        lines = [issue.render() for issue in self.issues]
        header = "invalid stack configuration" + (
            f" ({len(lines)} problems)" if len(lines) > 1 else ""
        )
        super().__init__(header + ":\n  " + "\n  ".join(lines))
