"""Every stack example in README.md and docs/*.md renders offline, as written (issue 20).

Which blocks are checked, and how:

1. **Every fenced ```yaml (or ```yml) block** of README.md and docs/*.md is either a stack config, which is
   rendered, or carries the opt-out marker ``<!-- not-rendered: <reason> -->`` on the nearest non-blank line
   above its opening fence (for what is not a stack file: a rendered object, a fragment shown in the middle
   of a model entry, another tool's config). A yaml block that is neither fails this test, so a new example
   cannot silently go unchecked.
2. **A stack config** is a YAML mapping (the block is dedented first, so an indented excerpt of a stack file
   parses) that is either a stack file (`config:` holding `kserve-intel:` keys) or the `kserve-intel:` keys
   themselves (every top-level key has a `<namespace>:` prefix, at least one `kserve-intel:`).
3. **What it is rendered on**:
   - a block whose first line is the comment ``# Pulumi.<stack>.yaml`` names a committed stack file: its keys
     are laid over that file's config (a top-level key of the block replaces the file's key whole);
   - any other block stands alone, on a minimal base that only supplies what every stack must have:
     `kserve-intel:platform: xeon` when the block sets no platform. Nothing else is added: a block that
     needs a model, a token, a KServe release or a registry must show it.
4. **Secrets**: a value written as ``{secure: ...}`` (what `pulumi config set --secret` stores) becomes a
   dummy string and its top-level key is marked secret, as the Pulumi engine hands it to the program. A
   gated model therefore renders only if the example shows `kserve-intel:hfToken: {secure: ...}`.
5. **Rendering** is the program itself (`__main__.py`) under Pulumi's in-process mocks, as `pulumi preview`
   runs it (offline/engine.py `evaluate`), so the Hugging Face token check of `pulumi up` does not run. The
   MLflow tracking server is mocked too (`FakeMlflow` below: any registered model, alias or version
   resolves, and its artifacts have the mlflow.transformers layout), so a `source:` example renders.
   The block passes when the program registers its resources and raises no error; every model it names
   gets an InferenceService.
6. **Example stack files**: every `examples/Pulumi.*.yaml` renders the same way, and a block introduced by a
   line that names one (`` `examples/Pulumi.xeon-lora.yaml`: ``) shows the same config as the file.
7. **Commands**: each ``make render STACK=<stack> SET='k=v ...'`` and ``python -m offline.render --stack
   <stack> --set k=v`` written in README.md or docs/*.md (fenced or inline, without `<placeholders>`) is
   evaluated the same way, with its overrides applied as `offline.render` applies them.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.engine import PROJECT, evaluate, stack_config

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
OPT_OUT = re.compile(r"^<!--\s*not-rendered:\s*(?P<reason>\S.*?)\s*-->$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>```+)(?P<info>[^`\s]*)\s*$")
ON_STACK = re.compile(r"^#\s*Pulumi\.(?P<stack>[\w-]+)\.yaml\s*$")
DUMMY_SECRET = "dummy-secret-value-for-the-docs-test"


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    info: str
    text: str
    opt_out: str | None
    above: str = ""  # the nearest non-blank line above the fence

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def fenced_blocks(page: Path) -> list[Block]:
    lines = page.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        ticks, start = match["ticks"], i
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == ticks), None)
        assert end is not None, f"{page.relative_to(ROOT)}:{i + 1}: unclosed code fence"
        above = next((lines[k].strip() for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        marker = OPT_OUT.match(above)
        blocks.append(Block(page, start + 1, match["info"].lower(), "\n".join(lines[start + 1:end]),
                            marker["reason"] if marker else None, above))
        i = end + 1
    return blocks


def yaml_blocks() -> list[Block]:
    return [b for page in PAGES for b in fenced_blocks(page) if b.info in ("yaml", "yml")]


def stack_keys(document: Any) -> dict[str, Any] | None:
    """The `<namespace>:<key>` config of a block, or None when it is not a stack config."""
    if not isinstance(document, dict) or not document:
        return None
    if set(document) == {"config"} and isinstance(document["config"], dict):
        document = document["config"]
    if all(isinstance(k, str) and re.match(r"^[\w-]+:\S", k) for k in document) and any(
            k.startswith(f"{PROJECT}:") for k in document):
        return document
    return None


def _unsecure(value: Any) -> tuple[Any, bool]:
    """Replace `{secure: ...}` with a dummy string; say whether there was one."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return DUMMY_SECRET, True
        out, found = {}, False
        for k, v in value.items():
            out[k], inner = _unsecure(v)
            found = found or inner
        return out, found
    if isinstance(value, list):
        items = [_unsecure(v) for v in value]
        return [v for v, _ in items], any(f for _, f in items)
    return value, False


def _encode(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def engine_config(block: Block) -> tuple[dict[str, str], list[str], list[str]]:
    """The block as the engine would pass it: (config, secret keys, model ids)."""
    document = yaml.safe_load(textwrap.dedent(block.text))
    keys = stack_keys(document)
    assert keys is not None, f"{block.where}: not a stack config; mark it <!-- not-rendered: <reason> -->"
    first = textwrap.dedent(block.text).lstrip().splitlines()[0]
    on_stack = ON_STACK.match(first)
    if on_stack:
        base = yaml.safe_load((ROOT / f"Pulumi.{on_stack['stack']}.yaml").read_text())["config"]
    else:
        base = {f"{PROJECT}:platform": "xeon"}
    values = {**copy.deepcopy(base), **keys}
    config, secrets = {}, []
    for key, value in values.items():
        value, secret = _unsecure(value)
        if secret:
            secrets.append(key)
        config[key] = _encode(value)
    models = values.get(f"{PROJECT}:models") or []
    ids = [m if isinstance(m, str) else m.get("id") for m in models]
    return config, secrets, ids


class FakeMlflow:
    """A tracking server that knows every registered model: each alias or version resolves to version 3 of
    run `run0001`, logged with mlflow.transformers (model/config.json, components/tokenizer/) and holding an
    adapter (adapter_config.json, adapter_model.safetensors) in an S3 store the server reaches directly."""

    RUN_ROOT = "s3://mlflow-artifacts/1/run0001/artifacts"

    def get(self, endpoint: str, **params: Any) -> tuple[int, dict[str, Any]]:
        version = {"version": str(params.get("version") or "3"), "run_id": "run0001"}
        if endpoint.endswith("/registered-models/get"):
            return 200, {"registered_model": {"name": params["name"], "aliases": []}}
        if endpoint.endswith(("/registered-models/alias", "/model-versions/get")):
            return 200, {"model_version": version}
        if endpoint.endswith("/model-versions/get-download-uri"):
            return 200, {"artifact_uri": "runs:/run0001/model"}
        if endpoint.endswith("/runs/get"):
            return 200, {"run": {"info": {"artifact_uri": self.RUN_ROOT}}}
        if endpoint.endswith("/artifacts/list"):
            path = params.get("path", "").strip("/")
            if path.endswith("/model") and path != "model" or path == "model/model":
                return 200, {"files": [{"path": f"{path}/config.json", "is_dir": False}]}
            return 200, {"files": [
                {"path": f"{path}/model", "is_dir": True}, {"path": f"{path}/components", "is_dir": True},
                {"path": f"{path}/adapter_config.json", "is_dir": False},
                {"path": f"{path}/adapter_model.safetensors", "is_dir": False}]}
        return 404, {"error_code": "RESOURCE_DOES_NOT_EXIST"}


@pytest.fixture
def fake_registry(monkeypatch):
    from kserve_intel.online import mlflow

    fake = FakeMlflow()
    monkeypatch.setattr(mlflow.MlflowApi, "get", lambda self, endpoint, **params: fake.get(endpoint, **params))


def _render(config: dict[str, str], secrets: list[str], where: str):
    evaluation = evaluate(config, secrets, stack="docs", raise_errors=False)
    assert evaluation.error is None, f"{where} does not render as written:\n{evaluation.error}"
    return evaluation


BLOCKS = yaml_blocks()


def test_the_docs_have_yaml_examples_and_the_rule_finds_them():
    rendered = [b for b in BLOCKS if b.opt_out is None]
    assert len(rendered) >= 15, [b.where for b in rendered]


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.opt_out is not None], ids=lambda b: b.where)
def test_an_opted_out_yaml_block_is_not_a_stack_file(block):
    # The marker is for fragments and other tools' YAML; a whole stack file has no reason to skip the test.
    document = yaml.safe_load(textwrap.dedent(block.text))
    assert not (isinstance(document, dict) and "config" in document), f"{block.where}: a stack file, render it"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.opt_out is None], ids=lambda b: b.where)
def test_yaml_example_renders(block, fake_registry):
    config, secrets, ids = engine_config(block)
    evaluation = _render(config, secrets, block.where)
    services = evaluation.of_type(ISVC)
    assert len(services) == len(ids), f"{block.where}: {len(ids)} models, {len(services)} InferenceServices"


EXAMPLE_FILES = sorted((ROOT / "examples").glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_example_stack_file_renders(path, fake_registry):
    block = Block(path, 1, "yaml", path.read_text(), None)
    config, secrets, ids = engine_config(block)
    assert len(_render(config, secrets, block.where).of_type(ISVC)) == len(ids)


@pytest.mark.parametrize("block", [b for b in BLOCKS if re.search(r"`examples/Pulumi\.[\w-]+\.yaml`:$", b.above)],
                         ids=lambda b: b.where)
def test_a_block_that_names_an_example_file_shows_its_config(block):
    name = re.search(r"`(examples/Pulumi\.[\w-]+\.yaml)`:$", block.above)[1]
    assert yaml.safe_load(textwrap.dedent(block.text)) == yaml.safe_load((ROOT / name).read_text()), block.where


# `make render STACK=gaudi SET='a=b c=d'` and `python -m offline.render --stack gaudi --set a=b`.
MAKE_RENDER = re.compile(r"make render STACK=(?P<stack>[\w-]+)(?P<rest>(?: +SET=(?:'[^']*'|\"[^\"]*\"|\S+))?)")
PY_RENDER = re.compile(r"-m offline\.render --stack (?P<stack>[\w-]+)(?P<rest>(?: +--set +(?:'[^']*'|\"[^\"]*\"|[^\s`]+))*)")


def render_commands() -> list[tuple[str, str, dict[str, str]]]:
    found = []
    for page in PAGES:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            for pattern in (MAKE_RENDER, PY_RENDER):
                for match in pattern.finditer(line):
                    if "<" in match.group(0):
                        continue
                    words = shlex.split(match["rest"])
                    if pattern is MAKE_RENDER:
                        pairs = [kv for w in words for kv in shlex.split(w.split("=", 1)[1])]
                    else:
                        pairs = [w for w in words if w != "--set"]
                    overrides = dict(p.split("=", 1) for p in pairs)
                    found.append((f"{page.relative_to(ROOT)}:{number}", match["stack"], overrides))
    return found


COMMANDS = render_commands()


def test_the_docs_show_render_commands():
    assert len(COMMANDS) >= 2, COMMANDS


@pytest.mark.parametrize("where,stack,overrides", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_render_command_renders(where, stack, overrides, fake_registry):
    config, secrets = stack_config(stack, overrides)
    _render(config, secrets, where)


def test_the_rule_itself():
    # A stack file, keys alone, an excerpt indented as in a stack file, and what is not a stack config.
    assert stack_keys(yaml.safe_load("config:\n  kserve-intel:platform: xeon\n")) == {"kserve-intel:platform": "xeon"}
    assert stack_keys(yaml.safe_load(textwrap.dedent("  kserve-intel:models:\n    - Qwen/Qwen3-1.7B\n"))) is not None
    assert stack_keys(yaml.safe_load("storageUris:\n  - {uri: hf://a/b}\n")) is None
    assert stack_keys(yaml.safe_load("- id: a/b\n")) is None
    block = Block(ROOT / "README.md", 1, "yaml", "config:\n  kserve-intel:hfToken: {secure: AAAB}\n", None)
    config, secrets, ids = engine_config(block)
    assert config[f"{PROJECT}:hfToken"] == DUMMY_SECRET and secrets == [f"{PROJECT}:hfToken"]
    assert config[f"{PROJECT}:platform"] == "xeon" and ids == []
    on_gaudi = Block(ROOT / "README.md", 1, "yaml", "# Pulumi.gaudi.yaml\nconfig:\n  kserve-intel:namespace: llm\n", None)
    config, _, ids = engine_config(on_gaudi)
    assert config[f"{PROJECT}:platform"] == "gaudi" and config[f"{PROJECT}:namespace"] == "llm" and len(ids) == 2
