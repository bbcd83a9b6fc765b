"""The real Pulumi CLI against a local cluster: one project checkout, one temporary home and state per test run.

Commands run in a project folder of the test's own whose entries link to the repository's (Pulumi.yaml,
__main__.py, the packages, .venv), without the committed stack files: the CLI writes the test's
Pulumi.<stack>.yaml there, the state goes to a local file backend with a passphrase, so nothing a developer
keeps in the checkout or in ~/.pulumi is touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from engine.deploy import stand_in_digests

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "kserve-intel"
PASSPHRASE = "e2e-passphrase-not-a-secret"
# What the CLI's file (DIY) backend reports as the organization (`pulumi.get_organization()`), hence the first part
# of every owner stamp the e2e stacks write; renders compared with the cluster are made with it.
ORGANIZATION = "organization"


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


class PulumiCLI:
    """`pulumi` with an isolated home, backend and stack config file."""

    def __init__(self, bin_dir: Path, kubeconfig: Path, workdir: Path) -> None:
        self.workdir = workdir
        self.home = workdir / "pulumi-home"
        self.state = workdir / "state"
        self.project = workdir / "project"
        for d in (self.home, self.state, self.project):
            d.mkdir(parents=True, exist_ok=True)
        for entry in ROOT.iterdir():
            if not (entry.name.startswith("Pulumi.") and entry.name != "Pulumi.yaml") and entry.name not in (
                    ".git", ".pulumi-state", "build"):
                (self.project / entry.name).symlink_to(entry)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")},
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(self.home),
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            # The provider comes from the plugin cache at the SDK's exact version (installed below), not PATH.
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "KUBECONFIG": str(kubeconfig),
            "NO_COLOR": "1",
        }

        provider = bin_dir / "pulumi-resource-kubernetes"
        self.run("plugin", "install", "resource", "kubernetes", provider_version(), "--file", str(provider))

    def config_file(self, stack: str) -> Path:
        return self.project / f"Pulumi.{stack}.yaml"

    def run(self, *args: str, stack: str | None = None, check: bool = True, timeout: float = 900,
            env: Mapping[str, str] | None = None) -> Result:
        argv = ["pulumi", *args, "--non-interactive"]
        if stack:
            argv += ["--stack", stack]
        start = time.monotonic()
        proc = subprocess.run(argv, cwd=self.project, env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        result = Result(argv, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {proc.returncode} after {result.seconds:.0f}s:\n"
                                 f"{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}")
        return result

    def start(self, *args: str, stack: str | None = None, env: Mapping[str, str] | None = None,
              log: Path | None = None) -> subprocess.Popen:
        """Start a command in the background, in a process group of its own (the CLI, its language host and
        provider), so a test can interrupt it (SIGINT to the CLI) or kill it all (SIGKILL to the group)."""
        argv = ["pulumi", *args, "--non-interactive"] + (["--stack", stack] if stack else [])
        log = log or (self.workdir / f"{args[0]}-{time.monotonic_ns()}.log")
        with open(log, "w") as out:
            proc = subprocess.Popen(argv, cwd=self.project, env={**self.env, **(env or {})}, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        proc.log_path = log  # type: ignore[attr-defined]  # what it printed
        return proc

    def processes(self) -> list[int]:
        """Pids of processes started from this harness's Pulumi home (the plugins it installed there)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if str(self.home).encode() in (entry / "cmdline").read_bytes():
                        pids.append(int(entry.name))
                except OSError:
                    pass
        return pids

    def init(self, stack: str, config: Mapping[str, Any], secrets: Mapping[str, str] | None = None) -> None:
        """Create the stack and write its config file: plain values as YAML, secrets through the CLI."""
        self.run("stack", "init", stack, "--secrets-provider", "passphrase")
        document = yaml.safe_load(self.config_file(stack).read_text()) or {}  # the passphrase's salt
        if config:  # no config at all: the file has no `config` key (what `pulumi stack init` alone leaves)
            document["config"] = {f"{PROJECT}:{k}" if ":" not in k else k: v for k, v in with_images(config).items()}
        self.config_file(stack).write_text(yaml.safe_dump(document, sort_keys=False))
        for key, value in (secrets or {}).items():  # "a.b.c": one nested value, as `--path` sets it
            path = ["--path"] if "." in key or "[" in key else []
            self.run("config", "set", "--secret", *path, f"{PROJECT}:{key}", value, stack=stack)

    def set_config(self, stack: str, config: Mapping[str, Any]) -> None:
        """Replace the plain values of the stack's config file (encrypted ones are kept)."""
        path = self.config_file(stack)
        document = yaml.safe_load(path.read_text())
        kept = {k: v for k, v in document["config"].items() if isinstance(v, dict) and "secure" in v}
        document["config"] = {**{f"{PROJECT}:{k}": v for k, v in with_images(config).items()}, **kept}
        path.write_text(yaml.safe_dump(document, sort_keys=False))

    def preview(self, stack: str, *extra: str, check: bool = True, policy: bool = True) -> Result:
        args = ["preview", "--json", *extra]
        if policy:
            args += ["--policy-pack", str(ROOT / "policy")]
        return self.run(*args, stack=stack, check=check)

    def up(self, stack: str, *extra: str, check: bool = True, timeout: float = 1800,
           env: Mapping[str, str] | None = None) -> Result:
        return self.run("up", "--yes", "--skip-preview", "--json", *extra, stack=stack, check=check,
                        timeout=timeout, env=env)

    def destroy(self, stack: str, *extra: str, check: bool = True, timeout: float = 1800) -> Result:
        return self.run("destroy", "--yes", "--skip-preview", *extra, stack=stack, check=check, timeout=timeout)

    def outputs(self, stack: str, show_secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "output", "--json"] + (["--show-secrets"] if show_secrets else [])
        return self.run(*args, stack=stack).json()

    def export(self, stack: str) -> dict[str, Any]:
        return self.run("stack", "export", stack=stack).json()

    def resources(self, stack: str) -> list[dict[str, Any]]:
        return self.export(stack)["deployment"].get("resources") or []


def with_images(config: Mapping[str, Any]) -> dict[str, Any]:
    """The local cluster's tests run without the internet: images are not resolved unless the test configures
    `images` itself (tests/e2e/test_images.py brings its own registry); moving tags get stand-in digests (the
    kwok nodes pull nothing), as `make up` on the local cluster does (engine/deploy.py)."""
    if any(k in ("images", f"{PROJECT}:images") for k in config):
        return dict(config)
    digests = stand_in_digests({f"{PROJECT}:{k}" if ":" not in k else k: v for k, v in config.items()})
    return {**config, "images": {"resolve": False, **({"digests": digests} if digests else {})}}


def provider_version() -> str:
    """The provider version engine/provider builds (and requirements.txt pins for the SDK)."""
    for line in (ROOT / "engine" / "provider" / "component.sh").read_text().splitlines():
        if line.startswith("VERSION="):
            return line.split("=", 1)[1].strip().lstrip("v")
    raise AssertionError("engine/provider/component.sh has no VERSION")


def steps_by_op(preview_json: Mapping[str, Any]) -> dict[str, list[str]]:
    """`pulumi preview --json` steps as {op: ["<Kind>::<resource name>", ...]}, the stack itself left out.

    Kind is the last segment of the type (`InferenceService`, `Release`, `KServeOperator`, ...).
    """
    ops: dict[str, list[str]] = {}
    for step in preview_json.get("steps", []):
        urn = step["urn"]
        type_, name = urn.split("::")[-2].split("$")[-1], urn.split("::")[-1]
        if type_ == "pulumi:pulumi:Stack":
            continue
        ops.setdefault(step["op"], []).append(f"{type_.split(':')[-1]}::{name}")
    return ops
