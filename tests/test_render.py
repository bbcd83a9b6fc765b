"""Issue 3: offline render, strict validation of what a stack applies, config
schema for editors, golden renders."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from kserve_intel.config.schema import SCHEMA_PATH, render_schema
from offline.validation import validate_directory, validate_objects
from offline.engine import committed_stacks, redact
from offline.golden import GOLDEN_ROOT
from offline.render import main as render_main
from offline.render import render
from tests.conftest import ROOT, STACKS, TOKEN, run_stack


def _read_tree(path: Path) -> dict[str, str]:
    return {p.relative_to(path).as_posix(): p.read_text() for p in sorted(path.rglob("*")) if p.is_file()}


def test_committed_stacks_are_the_three_platforms():
    assert committed_stacks() == sorted(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_golden_render_matches(stack, tmp_path):
    rendered = _read_tree(render(stack, None, tmp_path / stack))
    golden = _read_tree(GOLDEN_ROOT / stack)
    assert rendered.keys() == golden.keys(), "run `make golden` and review the diff"
    for name in rendered:
        assert rendered[name] == golden[name], f"{stack}/{name} differs from tests/golden: run `make golden` and review the diff"


def test_render_is_deterministic(tmp_path):
    first = _read_tree(render("gaudi3", {"hfToken": TOKEN}, tmp_path / "a"))
    second = _read_tree(render("gaudi3", {"hfToken": TOKEN}, tmp_path / "b"))
    assert first == second


def test_render_writes_one_file_per_component_and_the_helm_releases(tmp_path):
    out = render("xeon", {"hfToken": TOKEN}, tmp_path / "xeon")
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "IntelRuntimes-intel-runtimes.yaml", "KServeOperator-kserve.yaml",
        "ModelDeployment-qwen3-4b-instruct-2507.yaml", "ModelDeployment-r1-llama-8b.yaml",
        "ModelNamespace-models.yaml", "NetworkIsolation-network.yaml", "helm-releases.yaml", "stack.yaml",
    ]
    releases = list(yaml.safe_load_all((out / "helm-releases.yaml").read_text()))
    assert [(r["name"], r["chart"], r["version"]) for r in releases] == [
        ("cert-manager", "cert-manager", "v1.15.1"),
        ("kserve", "oci://ghcr.io/kserve/charts/kserve", "v0.13.0"),
        ("kserve-crd", "oci://ghcr.io/kserve/charts/kserve-crd", "v0.13.0"),
    ]
    assert releases[0]["repository"] == "https://charts.jetstack.io"
    kinds = [d["kind"] for d in yaml.safe_load_all((out / "ModelDeployment-r1-llama-8b.yaml").read_text())]
    assert kinds == ["PersistentVolumeClaim", "InferenceService"]
    # Whole numbers stay integers (the engine's wire format carries doubles;
    # the API server rejects 8080.0 for an int field).
    runtime = next(yaml.safe_load_all((out / "IntelRuntimes-intel-runtimes.yaml").read_text()))
    assert runtime["spec"]["containers"][0]["ports"][0]["containerPort"] == 8080
    assert type(runtime["spec"]["containers"][0]["ports"][0]["containerPort"]) is int


def test_secrets_are_rendered_redacted_never_in_plaintext(tmp_path):
    out = render("gaudi", {"hfToken": TOKEN}, tmp_path / "gaudi")
    tree = _read_tree(out)
    assert not any(TOKEN in text for text in tree.values())
    secret = next(d for d in yaml.safe_load_all(tree["ModelNamespace-models.yaml"]) if d["kind"] == "Secret")
    assert secret["stringData"] == {"HF_TOKEN": "[secret]"}


def test_set_overrides_reach_the_render(tmp_path):
    out = render("xeon", {"namespace": "llm", "kserve": '{"version": "0.20.0"}'}, tmp_path / "x")
    stack = yaml.safe_load((out / "stack.yaml").read_text())
    assert stack["kserveVersion"] == "v0.20.0"
    assert {m["namespace"] for m in stack["outputs"]["models"]} == {"llm"}


def test_set_accepts_config_paths_like_pulumi_config_set_path(tmp_path):
    out = render("xeon", {"kserve.version": "v0.20.0", "models[0].name": "q4", "models[2]": "Qwen/Qwen3-1.7B"}, tmp_path / "x")
    stack = yaml.safe_load((out / "stack.yaml").read_text())
    assert stack["kserveVersion"] == "v0.20.0"
    assert [m["name"] for m in stack["outputs"]["models"]] == ["q4", "r1-llama-8b", "qwen3-1-7b"]


def test_render_cli_reports_bad_config_and_fails(tmp_path, capsys):
    assert render_main(["--stack", "xeon", "--set", "platform=sparc", "--out", str(tmp_path / "o")]) == 1
    assert 'kserve-intel:platform = "sparc"' in capsys.readouterr().err
    assert render_main(["--stack", "nope", "--out", str(tmp_path / "o")]) == 1


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_directory_validates_like_make_validate(stack, tmp_path):
    out = render(stack, {"hfToken": TOKEN}, tmp_path / stack)
    assert validate_directory(out) == []
    result = subprocess.run([sys.executable, "-m", "offline.validation", str(out)], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    # A user's override that breaks the schema is caught by the same command.
    broken = out / "ModelNamespace-models.yaml"
    broken.write_text(broken.read_text().replace("kind: Namespace", "kind: Namespace\nspec:\n  bogus: 1", 1))
    assert validate_directory(out)


MATRIX = list(itertools.product(STACKS, ("v0.13.0", "v0.20.0"), ("off", "on")))


@pytest.mark.parametrize("stack,version,features", MATRIX)
def test_every_object_of_the_program_validates_strictly(stack, version, features):
    overrides = {"hfToken": TOKEN, "kserve": {"version": version}}
    if features == "on":
        overrides["autoscaling"] = {"enabled": True, "minReplicas": 1, "maxReplicas": 3, "metric": "memory", "target": 75}
        overrides["storage"] = {"storageClass": "fast", "accessMode": "ReadWriteMany", "size": "250Gi"}
    else:
        overrides["storage"] = {"enabled": False}
    evaluation = run_stack(stack, **overrides)
    objects = evaluation.objects()
    assert objects
    assert validate_objects([redact(o) for o in objects], kserve_version=version) == []


def test_config_schema_is_committed_and_current():
    assert SCHEMA_PATH.read_text() == render_schema(), "run `make schema`"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_carry_the_modeline_and_validate_against_the_schema(stack):
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./schemas/stack-config.schema.json"
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    assert list(validator.iter_errors(yaml.safe_load(text))) == []


def test_schema_catches_what_config_validation_catches():
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    bad = {"config": {"kserve-intel:platform": "xeon", "kserve-intel:storage": {"sise": "1Gi"},
                      "kserve-intel:models": ["a/b", {"id": "c/d", "tensorParallelSize": 0}],
                      "kserve-intel:plaform": "x", "kubernetes:context": "kind"}}
    messages = [e.message for e in validator.iter_errors(bad)]
    assert any("sise" in m for m in messages)
    assert any("plaform" in m for m in messages)
    assert len(messages) >= 3
