"""Every image a stack runs, one per line (`make images STACK=xeon`), ready for `skopeo copy` / `crane copy`.

    python -m tools.images --stack xeon             # the images as the stack names them (copy sources)
    python -m tools.images --stack prod --pairs     # "<source> <what the nodes pull>" per line, with images.mirrors

The list is computed from the stack file alone (no registry, no cluster): the runtimes of every serving stack in
use, canary images, the local model download container and the images of every Helm chart the stack installs at
its pinned version (builders/images.py). Encrypted values are not needed and not read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import yaml

from kserve_intel.builders.images import distinct, stack_images, unknown_charts
from kserve_intel.errors import CONFIG_NAMESPACE, ConfigError
from kserve_intel.load import load_config
from kserve_intel.plan import build_plan
from kserve_intel.rules.images import unused_issues

ROOT = Path(__file__).resolve().parent.parent


def _placeholder(value: Any) -> Any:
    """Encrypted values (`{secure: ...}`) stand in as text: they never decide an image."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return "encrypted-value-not-read"
        return {k: _placeholder(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholder(v) for v in value]
    return value


def read_stack(stack: str) -> tuple[dict[str, Any], set[str]]:
    """The stack file's `kserve-intel:*` values as the engine passes them, and the keys that were encrypted."""
    path = ROOT / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text()) or {}
    raw: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in (document.get("config") or {}).items():
        if not key.startswith(CONFIG_NAMESPACE + ":"):
            continue
        if value != _placeholder(value):
            secret.add(key)
        raw[key] = _placeholder(value)
    return raw, secret


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the stack file Pulumi.<stack>.yaml")
    parser.add_argument("--pairs", action="store_true", help="print '<image> <pulled as>' (images.mirrors applied)")
    args = parser.parse_args(argv)
    raw, secret = read_stack(args.stack)
    try:
        plan = build_plan(load_config(raw, secret), stack=args.stack)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    for issue in unused_issues(stack_images(plan), plan.config):
        print(f"warning: {issue.render()}", file=sys.stderr)
    for chart in unknown_charts(plan):
        print(f"warning: the images of chart {chart} are not in the image catalogue and not listed", file=sys.stderr)
    for image in distinct(stack_images(plan)):
        print(f"{image} {plan.images.mirrored(image)}" if args.pairs else image)
    return 0


if __name__ == "__main__":
    sys.exit(main())
