"""JSON Schema of a `Pulumi.<stack>.yaml` file, generated from the config models.

Editors with a YAML language server validate and complete stack files with it
(each committed stack file starts with a `yaml-language-server` modeline).
Regenerate with `make schema`; a test fails when the committed copy is stale.

    python -m kserve_intel.config.schema [--check]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Sequence

from .stack import StackConfig
from ..errors import CONFIG_NAMESPACE

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "stack-config.schema.json"

# What `pulumi config set --secret` writes in place of a value.
_SECURE = {
    "type": "object",
    "properties": {"secure": {"type": "string"}},
    "required": ["secure"],
    "additionalProperties": False,
}


def stack_file_schema() -> dict[str, Any]:
    """Schema of the whole stack file: our keys under `config`, prefixed."""
    model = StackConfig.model_json_schema(by_alias=True, mode="validation")
    defs = model.pop("$defs", {})
    properties: dict[str, Any] = {}
    for key, schema in model["properties"].items():
        if key == "models":
            # A bare Hugging Face id is shorthand for {id: ...}.
            schema = {**schema, "items": {"anyOf": [{"type": "string"}, schema["items"]]}}
        if key == "hfToken":
            schema = {"anyOf": [_SECURE, {"type": "null"}], "description": "Hugging Face token: set it with "
                      "`pulumi config set --secret kserve-intel:hfToken <token>`"}
        properties[f"{CONFIG_NAMESPACE}:{key}"] = schema
    config = {
        "type": "object",
        "properties": properties,
        "required": [f"{CONFIG_NAMESPACE}:{key}" for key in model.get("required", [])],
        # Other namespaces (kubernetes:context, pulumi:tags...) belong to other tools;
        # an unknown key in ours is a typo.
        "patternProperties": {f"^(?!{CONFIG_NAMESPACE}:)[^:]+:.+$": {}},
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/kserve-intel/kserve-intel/schemas/stack-config.schema.json",
        "title": "kserve-intel stack configuration (Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": config,
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "environment": {},
        },
        "required": ["config"],
        "additionalProperties": False,
        "$defs": defs,
    }


def _unwrapped(node: Any) -> Any:
    """Descriptions as one line per paragraph (the strings under the fields are wrapped at 120 columns)."""
    if isinstance(node, dict):
        return {k: re.sub(r"(?<!\n)\n(?!\n)", " ", v) if k == "description" and isinstance(v, str) else _unwrapped(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_unwrapped(v) for v in node]
    return node


def render_schema() -> str:
    return json.dumps(_unwrapped(stack_file_schema()), indent=2, sort_keys=True) + "\n"


def write_or_check(path: Path, text: str, prog: str, argv: Sequence[str] | None) -> int:
    """`make schema`'s generated files: write `text` to `path`, or with --check exit 1 when the committed copy differs."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    if parser.parse_args(argv).check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is stale: run `make schema`", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return write_or_check(SCHEMA_PATH, render_schema(), "python -m kserve_intel.config.schema", argv)


if __name__ == "__main__":
    sys.exit(main())
