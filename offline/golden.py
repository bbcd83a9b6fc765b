"""Golden renders of the committed stacks, so a pull request that changes what
we deploy shows the change as a YAML diff.

    python -m offline.golden          # rewrite tests/golden/<stack>/ (make golden)
"""

from __future__ import annotations

import sys
from pathlib import Path

from .engine import PROJECT_ROOT, committed_stacks
from .render import render

GOLDEN_ROOT = PROJECT_ROOT / "tests" / "golden"


def update(root: Path = GOLDEN_ROOT) -> list[Path]:
    return [render(stack, None, root / stack) for stack in committed_stacks()]


if __name__ == "__main__":
    for path in update():
        print(f"updated {path.relative_to(PROJECT_ROOT)}")
    sys.exit(0)
