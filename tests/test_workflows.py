"""The GitHub workflows: valid against SchemaStore's github-workflow schema
(vendored by check-jsonschema, no network) and doing what the README and docs/development.md say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, STACKS

WORKFLOWS = ROOT / ".github" / "workflows"


def _schema_check(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True, text=True, timeout=60,
    )


def _load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def test_workflows_are_valid_against_the_schema():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["preview.yml", "test.yml"]
    result = _schema_check(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  test:\n    steps:\n      - run: make test\n")  # no runs-on
    result = _schema_check(broken)
    assert result.returncode != 0
    assert "runs-on" in result.stdout + result.stderr


def test_test_workflow_runs_the_readme_test_commands_on_push_and_pull_request():
    workflow = _load("test.yml")
    assert set(workflow["on"]) == {"push", "pull_request"}
    jobs = workflow["jobs"]
    assert set(jobs) == {"test", "e2e"}
    runs = {name: [s["run"] for s in job["steps"] if "run" in s] for name, job in jobs.items()}
    assert runs == {"test": ["make test"], "e2e": ["make e2e"]}
    for job in jobs.values():
        setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
        assert setup["with"]["python-version"] == "3.11"
    go = next(s for s in jobs["e2e"]["steps"] if s.get("uses", "").startswith("actions/setup-go@"))
    assert go["with"]["go-version"] == "1.26.8"
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^make test\b", readme, re.MULTILINE)
    development = (ROOT / "docs" / "development.md").read_text()
    assert re.search(r"^make e2e\b", development, re.MULTILINE)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert ci.index("make test") < ci.index("make e2e")


def test_preview_workflow_previews_every_stack_with_the_policy_pack_and_comments():
    workflow = _load("preview.yml")
    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["permissions"]["pull-requests"] == "write"
    (job,) = workflow["jobs"].values()
    assert job["strategy"]["matrix"]["stack"] == list(STACKS)
    assert job["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
    (pulumi,) = [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert pulumi["uses"] == "pulumi/actions@v7"
    inputs = pulumi["with"]
    assert inputs["command"] == "preview"
    assert inputs["stack-name"] == "${{ matrix.stack }}"
    assert inputs["comment-on-pr"] is True
    assert inputs["github-token"] == "${{ secrets.GITHUB_TOKEN }}"
    assert inputs["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    assert inputs["policyPacks"] == "policy"
    # The program's and the pack's environments are built from their pinned requirements.
    script = "\n".join(s.get("run", "") for s in job["steps"])
    assert "-r requirements.txt" in script and "policy/venv/bin/pip install" in script
    assert "KUBECONFIG" in script


@pytest.mark.parametrize("secret", ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "KUBECONFIG"])
def test_every_secret_the_preview_reads_is_documented(secret):
    assert f"secrets.{secret}" in (WORKFLOWS / "preview.yml").read_text()
    assert f"`{secret}`" in (ROOT / "docs" / "development.md").read_text()
