"""`runtimes`: keys that only mean something when this stack configures the Intel runtimes."""

from __future__ import annotations

from typing import Iterable

from pydantic.alias_generators import to_camel

from ..config.stack import StackConfig
from ..errors import ConfigIssue


def runtimes_checks(config: StackConfig) -> Iterable[ConfigIssue]:
    runtimes = config.runtimes
    if not runtimes.configure_intel:
        for key in ("image", "node_selector", "accelerators_per_node", "custom"):
            if runtimes.explicitly_set(key):
                yield ConfigIssue(
                    f"runtimes.{to_camel(key)}", "has no effect when runtimes.configureIntel is false "
                    "(the runtimes are managed elsewhere); remove it",
                    [c.name for c in runtimes.custom] if key == "custom" else getattr(runtimes, key),
                )
