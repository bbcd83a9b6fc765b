"""Evaluate the program under Pulumi's mocks and record every registration."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import re
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
SECRET_CONFIG_KEYS = frozenset({f"{PROJECT}:hfToken", f"{PROJECT}:apisix", f"{PROJECT}:registry", f"{PROJECT}:images"})
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# What the program's online step reads to know it runs under the mocks (components/hub_access.py).
OFFLINE_ENV = "KSERVE_INTEL_OFFLINE"


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
    # `retain_on_delete`: `pulumi destroy` forgets the object instead of deleting it.
    retain_on_delete: bool = False
    # Names of the error hooks bound to it (`hooks.on_error`).
    error_hooks: list[str] = field(default_factory=list)

    @property
    def manifest(self) -> dict[str, Any] | None:
        """The Kubernetes object this registration sends, or None for non-objects."""
        if not self.type.startswith("kubernetes:") or self.type.startswith("kubernetes:helm.sh"):
            return None
        return manifest_fields(self.inputs)


# The fields of an object in the order a reader expects them; every other field the program registered
# (ServiceAccount `secrets`, `imagePullSecrets`, ConfigMap `immutable`...) follows in name order.
MANIFEST_ORDER = ("apiVersion", "kind", "metadata", "automountServiceAccountToken", "type", "spec", "data",
                  "stringData")


def manifest_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of an object, the usual ones first: nothing the program registered is left out."""
    first = [k for k in MANIFEST_ORDER if k in fields]
    return {k: fields[k] for k in [*first, *sorted(k for k in fields if k not in MANIFEST_ORDER)]}


@dataclass
class Evaluation:
    registrations: list[Registration]
    outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    # Set only when evaluated with raise_errors=False.
    error: BaseException | None = None
    # `pulumi.log.info` lines (what the CLI's preview shows under Diagnostics: the capacity lines).
    infos: list[str] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.registrations}

    def objects(self) -> list[dict[str, Any]]:
        return [m for r in self.registrations if (m := r.manifest) is not None]


def committed_stacks() -> list[str]:
    """Stacks with a committed `Pulumi.<stack>.yaml`."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in PROJECT_ROOT.glob("Pulumi.*.yaml"))


def stack_config(stack: str, overrides: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """A committed stack file as the engine passes it: objects as JSON text.

    `overrides` are `key=value` pairs as `pulumi config set [--path]` takes
    them, key with or without the `kserve-intel:` prefix. A path such as
    `kserve.version` or `models[0].name` changes one nested value; a value
    that parses as JSON (object, list, number, true/false) is used structured; a top-level key set to
    `null` is removed (`pulumi config rm`).
    """
    path = PROJECT_ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name}; stacks: {', '.join(committed_stacks())}")
    document = yaml.safe_load(path.read_text()) or {}
    values: dict[str, Any] = dict(document.get("config") or {})
    secret_keys: list[str] = []
    for key, value in (overrides or {}).items():
        full = key if ":" in key.split(".", 1)[0].split("[", 1)[0] else f"{PROJECT}:{key}"
        top, steps = _split_path(full)
        if steps:
            values[top] = _set_path(values.get(top), steps, _parse(value))
        elif value == "null":
            values.pop(top, None)  # as `pulumi config rm` would
        else:
            values[top] = value
        if top in SECRET_CONFIG_KEYS:
            secret_keys.append(top)  # as `pulumi config set --secret` would
    for key, value in values.items():
        if isinstance(value, dict) and "secure" in value:
            raise ValueError(f"{key} is encrypted and cannot be evaluated offline; override it with --set {key}=<dummy>")
    return {key: _encode(value) for key, value in values.items()}, secret_keys


_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def _split_path(key: str) -> tuple[str, list[str | int]]:
    match = re.match(r"^[^.\[]+", key)
    top = match.group(0) if match else key
    rest = key[len(top):]
    steps: list[str | int] = []
    for step in _STEP.finditer(rest):
        steps.append(step.group(1) if step.group(1) is not None else int(step.group(2)))
    if "".join(m.group(0) for m in _STEP.finditer(rest)) != rest:
        raise ValueError(f"cannot parse config path {key!r}")
    return top, steps


def _set_path(container: Any, steps: list[str | int], value: Any) -> Any:
    step, rest = steps[0], steps[1:]
    if isinstance(step, int):
        items = list(container) if isinstance(container, list) else []
        if step > len(items):
            raise ValueError(f"index [{step}] is past the end of a list of {len(items)}")
        if step == len(items):
            items.append(None)
        current = items[step]
        if isinstance(current, str) and rest:
            current = {"id": current}  # a bare model id is shorthand for {id: ...}
        items[step] = _set_path(current, rest, value) if rest else value
        return items
    mapping = dict(container) if isinstance(container, dict) else {}
    mapping[step] = _set_path(mapping.get(step), rest, value) if rest else value
    return mapping


def _parse(value: str) -> Any:
    try:
        return json.loads(value)
    except (json.JSONDecodeError, TypeError):
        return value


def _encode(value: Any) -> str:
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
    raise_errors: bool = True,
    program: Path = MAIN,
    online: bool = False,
    image_resolver: Any = None,
    organization: str | None = None,
) -> Evaluation:
    """Run `program` (default: this project's `__main__.py`) once; raise whatever it raises.

    By default the program runs as `pulumi preview` does, so nothing outside
    this process is contacted (the Hugging Face token check runs only on
    `pulumi up`); pass `preview=False` to evaluate it as `pulumi up`.
    With `raise_errors=False` the error is returned in `Evaluation.error`,
    beside whatever was registered before it (which should be nothing).
    Offline (the default), the program is told so (KSERVE_INTEL_OFFLINE=1) and reads no model shape from the
    hub; `online=True` lets it (tests against a local fake hub). Images are never resolved under the mocks (no
    registry is asked) unless `image_resolver` is given (an object with `resolve(ref) -> online.images.Resolved`):
    then the program pins them as a preview would. `organization` is what `pulumi.get_organization()` returns (the
    owner stamp's first part, `naming.owner_id`); the render has none, a real backend always has one.
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
                    retain_on_delete=request.HasField("retainOnDelete") and request.retainOnDelete,
                    error_hooks=list(request.hooks.on_error) if request.HasField("hooks") else [],
                ))
            return response

    warnings: list[str] = []

    class _Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())
            elif record.levelno == logging.INFO:
                infos.append(record.getMessage())

    infos: list[str] = []
    logger = logging.getLogger(f"kserve-intel.offline.{id(warnings)}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(_Capture())

    recorder = _Recorder()
    recorder.image_resolver = image_resolver  # read by components/image_pins.py

    def run_program() -> Any:
        runpy.run_path(str(program), run_name="__main__")
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
            pulumi.runtime.set_mocks(recorder.mocks, project=PROJECT, stack=stack, preview=preview, monitor=recorder, logger=logger,
                                     organization=organization)
            pulumi.runtime.set_all_config(offline_config(config), list(secret_keys))
            pulumi.runtime.test(run_program)()
        finally:
            loop.close()
            asyncio.set_event_loop(None)

    offline_before = os.environ.pop(OFFLINE_ENV, None)
    if not online:
        os.environ[OFFLINE_ENV] = "1"
    try:
        contextvars.Context().run(run)
    except Exception as error:  # noqa: BLE001 - handed back to the caller
        if raise_errors:
            raise
        return Evaluation(recorder.registrations, recorder.outputs, warnings, error, infos)
    finally:
        os.environ.pop(OFFLINE_ENV, None)
        if offline_before is not None:
            os.environ[OFFLINE_ENV] = offline_before
    return Evaluation(recorder.registrations, recorder.outputs, warnings, infos=infos)


def offline_config(config: Mapping[str, str]) -> dict[str, str]:
    """The config with `ownership.check: off`: an offline evaluation never reaches a cluster, so the ownership look
    (components/ownership.py) is skipped and every `auto` resolves as on an empty cluster (install)."""
    out = dict(config)
    key = f"{PROJECT}:ownership"
    try:
        ownership = json.loads(out[key]) if key in out else {}
    except json.JSONDecodeError:
        return out  # the program reports the bad value itself
    if isinstance(ownership, dict):
        out[key] = json.dumps({**ownership, "check": "off"})
    return out


def _plain(value: Any) -> Any:
    """Copy deserialized values into plain containers (keeping secret markers)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        # The wire format (protobuf Struct) carries every number as a double;
        # Kubernetes' int fields reject 8080.0, so whole numbers become ints again.
        return int(value)
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def redact(value: Any) -> Any:
    """Replace every Pulumi secret with a marker that shows where it goes.

    A secret map keeps its keys (so a Secret still shows which keys it has).
    """
    if is_secret(value):
        inner = value.get("value")
        if isinstance(inner, Mapping):
            return {k: redact({SECRET_SIG_KEY: SECRET_SIG, "value": v}) for k, v in inner.items()}
        return "[secret]"
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
