"""A fresh machine: the toolchain builds from empty caches, and `make up` / `make down` deploy to the local
simulated cluster when no cluster is configured (issue 19).

Each test runs with a HOME, Go module cache and Pulumi home of its own, so nothing this machine already
downloaded can hide a missing step (the first test also starts from an empty engine cache); Go's build cache is
shared (compiler output keyed by content: it cannot stand in for a download).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.pulumi_cli import ROOT


def go_env(name: str) -> str:
    return subprocess.run(["go", "env", name], capture_output=True, text=True, check=True).stdout.strip()


def fresh_env(tmp: Path) -> dict[str, str]:
    """A HOME with no caches, but this machine's Go build cache and engine cache (as the fresh-machine CI keeps
    the build cache: compiler output cannot stand in for a download)."""
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    keep = {"GOCACHE": go_env("GOCACHE"),
            "KSERVE_INTEL_ENGINE_CACHE": os.environ.get("KSERVE_INTEL_ENGINE_CACHE") or str(
                Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kserve-intel" / "engine")}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PULUMI_", "KUBECONFIG", "KSERVE_INTEL_", "GOMODCACHE", "GOPATH", "XDG_"))}
    env.update(HOME=str(home), GOPATH=str(home / "go"), GOMODCACHE=str(home / "go" / "pkg" / "mod"),
               XDG_CACHE_HOME=str(home / ".cache"), GOFLAGS="-modcacherw", **keep)
    return env


def test_the_provider_builds_from_an_empty_module_cache_and_engine_cache(tmp_path):
    """The build that stopped at the provider on a new machine (it read a module folder nothing had downloaded)."""
    env = fresh_env(tmp_path)
    env["KSERVE_INTEL_ENGINE_CACHE"] = str(tmp_path / "engine")
    run = subprocess.run([str(ROOT / "engine" / "build.sh"), "provider"], env=env, capture_output=True, text=True,
                         timeout=1800)
    assert run.returncode == 0, run.stderr[-4000:]
    bin_dir = Path(run.stdout.strip().splitlines()[-1])
    assert bin_dir.parent == tmp_path / "engine"
    provider = bin_dir / "pulumi-resource-kubernetes"
    assert provider.is_file() and os.access(provider, os.X_OK)
    assert "provider: built in" in run.stderr
    # Nothing came from this machine's own module cache: the modules are in the test's.
    assert any((tmp_path / "home" / "go" / "pkg" / "mod" / "github.com" / "pulumi").glob("pulumi-kubernetes/provider/v4@*"))


def test_make_up_deploys_to_the_local_cluster_and_make_down_removes_it(tmp_path):
    """No KUBECONFIG, no ~/.kube/config, no kubernetes:context: the local cluster is started in the background,
    the committed stack deploys there, a second command reuses it, `down` destroys the stack and stops it."""
    env = fresh_env(tmp_path)
    env["KSERVE_INTEL_LOCAL_CLUSTER_DIR"] = str(tmp_path / "local")
    env["PULUMI_HOME"] = str(tmp_path / "pulumi-home")

    def deploy(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "engine.deploy", *args, "--stack", "gaudi"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)

    up = deploy("up")
    output = up.stdout + up.stderr
    assert up.returncode == 0, output[-5000:]
    assert ("no cluster configured: deploying to the local simulated cluster — fake nodes, no containers run; "
            "set KUBECONFIG to use your own") in output
    assert "starting the local cluster with KServe v0.13.0 in the background" in output
    # The committed stack's `kserve.install: auto` finds the cluster's KServe: no adaptation needed for it.
    assert "kserve.install: auto -> use the cluster's KServe" in output, output[-5000:]
    assert "Outputs:" in output and "intel-vllm-gaudi" in output
    ready = tmp_path / "local" / "kserve-v0.13.0" / "ready.json"
    assert ready.exists()
    assert not list(ROOT.glob("Pulumi.gaudi.yaml.bak")) and "encryptionsalt" not in (ROOT / "Pulumi.gaudi.yaml").read_text()

    preview = deploy("preview")
    output = preview.stdout + preview.stderr
    assert preview.returncode == 0, output[-5000:]
    assert "is running" in output and "starting the local cluster" not in output
    assert "unchanged" in output and "to create" not in output

    pid = int(json.loads(ready.read_text())["pid"])
    down = deploy("down")
    output = down.stdout + down.stderr
    assert down.returncode == 0, output[-5000:]
    assert "destroying stack gaudi" in output and "stopped the local cluster" in output
    assert not (tmp_path / "local" / "kserve-v0.13.0").exists()
    assert not Path(f"/proc/{pid}").exists()
