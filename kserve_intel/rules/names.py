"""Names derived for the cluster must not collide: a collision is a config error, never a silent overwrite.

The names themselves are derived in naming.py; what each model plan holds (its name, config path, id) is
read duck-typed, so this floor does not import plan.py.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..errors import ConfigIssue


def model_name_collisions(models: Iterable[Any]) -> list[ConfigIssue]:
    issues = []
    seen: dict[str, Any] = {}
    for model in models:
        first = seen.setdefault(model.name, model)
        if first is not model:
            issues.append(ConfigIssue(
                f"{model.config_path}.name", f"collides with {first.config_path} ({first.id}); "
                "give one of them a distinct `name`", model.name,
            ))
    return issues
