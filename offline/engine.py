"""Evaluate the program under Pulumi's mocks and record every registration."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAIN = PROJECT_ROOT / "__main__.py"
PROJECT = "kserve-intel"
# Keys `pulumi config set --secret` would mark (a nested secret marks its whole top-level key).
SECRET_CONFIG_KEYS = frozenset({f"{PROJECT}:hfToken", f"{PROJECT}:apisix"})
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


@dataclass
class Registration:
    """One resource as the engine would receive it."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: list[str]
    custom_timeouts: dict[str, str]
    additional_secret_outputs: list[str]

    @property
    def manifest(self) -> dict[str, Any] | None:
        """The Kubernetes object this registration sends, or None for non-objects."""
        if not self.type.startswith("kubernetes:") or self.type.startswith("kubernetes:helm.sh"):
            return None
        keys = ("apiVersion", "kind", "metadata", "spec", "type", "data", "stringData", "automountServiceAccountToken")
        return {k: self.inputs[k] for k in keys if k in self.inputs}


@dataclass
class Evaluation:
    registrations: list[Registration]
    outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.registrations}

    def objects(self) -> list[dict[str, Any]]:
        return [m for r in self.registrations if (m := r.manifest) is not None]


def stack_config(stack: str, overrides: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """A committed stack file as the engine passes it: objects as JSON text.

    `overrides` are `key=value` pairs as `pulumi config set` takes them, key
    with or without the `kserve-intel:` prefix; a value that parses as JSON
    (an object, a list, a number, true/false) is used structured.
    """
    path = PROJECT_ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in PROJECT_ROOT.glob("Pulumi.*.yaml"))
        raise FileNotFoundError(f"no stack file {path.name}; stacks: {', '.join(stacks)}")
    document = yaml.safe_load(path.read_text()) or {}
    config = {key: _encode(value) for key, value in (document.get("config") or {}).items()}
    secret_keys: list[str] = []
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        config[full] = value
        if full in SECRET_CONFIG_KEYS:
            secret_keys.append(full)  # as `pulumi config set --secret` would
    return config, secret_keys


def _encode(value: Any) -> str:
    if isinstance(value, dict) and "secure" in value:
        raise ValueError("encrypted values cannot be evaluated offline; override them with --set")
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def evaluate(
    config: Mapping[str, str],
    secret_keys: Iterable[str] = (),
    stack: str = "dev",
    preview: bool = True,
) -> Evaluation:
    """Run `__main__.py` once; raise whatever the program raises.

    By default the program runs as `pulumi preview` does, so nothing outside
    this process is contacted (the Hugging Face token check runs only on
    `pulumi up`); pass `preview=False` to evaluate it as `pulumi up`.
    """
    import pulumi
    from pulumi.runtime import mocks

    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))

    class _Mocks(mocks.Mocks):
        def new_resource(self, args: mocks.MockResourceArgs):
            meta = args.inputs.get("metadata") or {}
            ident = meta.get("name") or args.inputs.get("name") or args.name
            return f"{ident}-id", dict(args.inputs)

        def call(self, args: mocks.MockCallArgs):
            return {}

    class _Recorder(mocks.MockMonitor):
        def __init__(self) -> None:
            super().__init__(_Mocks())
            self.registrations: list[Registration] = []
            self.outputs: dict[str, Any] = {}

        def RegisterResource(self, request):  # noqa: N802 - gRPC method name
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                timeouts = request.customTimeouts
                self.registrations.append(Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=request.custom,
                    inputs=_plain(pulumi.runtime.rpc.deserialize_properties(request.object, keep_unknowns=True)),
                    dependencies=list(request.dependencies),
                    custom_timeouts={k: v for k, v in (("create", timeouts.create), ("update", timeouts.update), ("delete", timeouts.delete)) if v},
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                ))
            return response

    warnings: list[str] = []

    class _Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())

    logger = logging.getLogger(f"kserve-intel.offline.{id(warnings)}")
    logger.propagate = False
    logger.addHandler(_Capture())

    recorder = _Recorder()

    def program() -> Any:
        runpy.run_path(str(MAIN), run_name="__main__")
        # The mock engine finishes the root stack before the program runs, so
        # exports are read from it here instead of from RegisterResourceOutputs.
        exports = pulumi.runtime.get_root_resource().outputs
        return pulumi.Output.from_input(exports).apply(recorder.outputs.update)

    def run() -> None:
        # A fresh event loop and a fresh context per run: Pulumi keeps its
        # settings, config and root stack in context variables, and a shared
        # loop lets pending tasks of one run resolve against another's mocks.
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            pulumi.runtime.set_mocks(recorder.mocks, project=PROJECT, stack=stack, preview=preview, monitor=recorder, logger=logger)
            pulumi.runtime.set_all_config(dict(config), list(secret_keys))
            pulumi.runtime.test(program)()
        finally:
            loop.close()
            asyncio.set_event_loop(None)

    contextvars.Context().run(run)
    return Evaluation(recorder.registrations, recorder.outputs, warnings)


def _plain(value: Any) -> Any:
    """Copy deserialized values into plain containers (keeping secret markers)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def redact(value: Any) -> Any:
    """Replace every Pulumi secret with a marker that shows where it goes."""
    if is_secret(value):
        return "[secret]"
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
