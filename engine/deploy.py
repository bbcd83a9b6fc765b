"""`make preview|up|destroy|down STACK=...`: on your cluster when one is configured, else on the local one.

A cluster is configured when `KUBECONFIG` is set, `~/.kube/config` exists, or the stack file sets
`kubernetes:context` or `kubernetes:kubeconfig`. Then Pulumi runs in the checkout against that cluster, as
it always did: your `pulumi` (or the one engine/build.sh builds), your backend (`make login`), the committed
stack file.

Otherwise the command goes to the local simulated cluster (engine/localcluster.py: a real API server and
KServe controller, fake nodes, no containers). It is started in the background when it is not running, one
per KServe release, under `.local-cluster/kserve-<version>/`, and reused by the next command; its Pulumi
state lives beside it. Pulumi runs there in a project folder whose stack file is the committed one with the
local cluster's adaptations (the hub cannot be reached; a pinned `kserve.install: true` becomes `auto`, which
finds the KServe already running there), printed once.
`make down` destroys the stack and stops every local cluster.

    python -m engine.deploy up --stack xeon [--parallel 64] [--adopt]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from kserve_intel.builders.images import distinct, stack_images
from kserve_intel.config.kserve import KServeConfig
from kserve_intel.errors import ConfigError
from kserve_intel.load import load_config
from kserve_intel.plan import build_plan
from kserve_intel.rules.images import moving_tag

ENGINE_DIR = Path(__file__).resolve().parent
ROOT = ENGINE_DIR.parent
PROJECT = "kserve-intel"
# Where local clusters and their state live (KSERVE_INTEL_LOCAL_CLUSTER_DIR moves them, e.g. for tests).
LOCAL_ROOT = Path(os.environ.get("KSERVE_INTEL_LOCAL_CLUSTER_DIR") or ROOT / ".local-cluster")
WITH_ENGINE = str(ENGINE_DIR / "with-engine.sh")
# The passphrase of the local cluster's own state when the stack file brings no encryption salt of its own.
LOCAL_PASSPHRASE = "kserve-intel-local-cluster"
START_TIMEOUT_SECONDS = 600
# `make up ADOPT=1`: the program's ownership look (components/ownership.py) takes back this stack's objects that
# carry no owner stamp yet (left by a version before stamps); objects stamped by this stack (retained caches and
# namespaces) are its own without it. Provider 4.25 re-applies over an existing object (server-side apply); from
# 4.29 that needs PULUMI_K8S_UPSERT_EXISTING_OBJECTS, which 4.25 does not read.
ADOPT_ENV = {"KSERVE_INTEL_ADOPT": "retained", "PULUMI_K8S_UPSERT_EXISTING_OBJECTS": "true"}
NOTICE = ("no cluster configured: deploying to the local simulated cluster — fake nodes, no containers run; "
          "set KUBECONFIG to use your own")


def say(line: str) -> None:
    print(f"[make] {line}", file=sys.stderr, flush=True)


def stack_document(stack: str) -> dict[str, Any]:
    path = ROOT / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise SystemExit(f"no stack file {path.name}: committed stacks are "
                         + ", ".join(p.name[len("Pulumi."):-len(".yaml")] for p in sorted(ROOT.glob("Pulumi.*.yaml"))
                                     if p.name != "Pulumi.yaml"))
    return yaml.safe_load(path.read_text()) or {}


def configured_cluster(document: dict[str, Any]) -> str | None:
    """Why Pulumi should deploy to the user's own cluster, or None."""
    if os.environ.get("KUBECONFIG"):
        return "KUBECONFIG"
    if (Path.home() / ".kube" / "config").exists():
        return "~/.kube/config"
    for key in ("kubernetes:context", "kubernetes:kubeconfig"):
        if key in (document.get("config") or {}):
            return key
    return None


def kserve_version(document: dict[str, Any]) -> str:
    """The KServe release the stack asks for (its default when unset), as the program reads it."""
    config = document.get("config") or {}
    version = (config.get(f"{PROJECT}:kserve") or {}).get("version")
    if version:
        return version if str(version).startswith("v") else f"v{version}"
    return KServeConfig().version  # the one place that knows the default


def local_versions() -> list[str]:
    versions = []
    for comp in sorted(ENGINE_DIR.glob("kserve-*/component.sh")):
        for line in comp.read_text().splitlines():
            if line.startswith("VERSION="):
                versions.append(line.split("=", 1)[1].strip())
    return versions


def local_config(document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The committed stack file adapted to the local cluster, and the adaptations in words."""
    doc = copy.deepcopy(document)
    config = doc.setdefault("config", {})
    kserve = dict(config.get(f"{PROJECT}:kserve") or {})
    changed = []
    # KServe runs there already, not installed by this stack: `auto` (the default) finds and uses it; a pinned
    # `install: true` would be refused by the ownership look (its namespace is not the stack's).
    if kserve.get("install") is True:
        changed.append("kserve.install=auto (KServe runs there already; `true` would be refused: it is not this "
                       "stack's)")
        kserve["install"] = "auto"
        config[f"{PROJECT}:kserve"] = kserve
    # The token check of `up` cannot reach the hub from here; without a token there is nothing to check (and the
    # program refuses validateToken without hfToken).
    if f"{PROJECT}:hfToken" in config and config.get(f"{PROJECT}:validateToken", True) is not False:
        changed.append("validateToken=false (the Hugging Face hub cannot be reached from it)")
        config[f"{PROJECT}:validateToken"] = False
    # Its kwok nodes pull no image, and the registries may be out of reach: tags as they are (one warning).
    images = dict(config.get(f"{PROJECT}:images") or {})
    if images.get("resolve", True) is not False:
        changed.append("images.resolve=false (its nodes pull no image; the registries may be out of reach)")
        images["resolve"] = False
        stand_ins = {k: v for k, v in stand_in_digests(config).items() if k not in images.get("digests", {})}
        if stand_ins:
            # A moving tag (vllm-gaudi-0.26's `latest`) must go out pinned (the policy pack's images-pinned).
            changed.append(f"images.digests: stand-in digests for {', '.join(stand_ins)} (nothing is pulled there)")
            images["digests"] = {**images.get("digests", {}), **stand_ins}
        config[f"{PROJECT}:images"] = images
    return doc, changed


def stand_in_digests(config: dict[str, Any]) -> dict[str, str]:
    """For a cluster whose nodes pull nothing (the local one): a made-up digest per moving-tag image the stack
    runs, so what it applies is pinned as a resolved preview's would be. {} when the config does not plan (the
    program reports why)."""
    raw = {k: (json.dumps(v) if not isinstance(v, str) else v) for k, v in config.items()
           if k.startswith(f"{PROJECT}:") and not (isinstance(v, dict) and set(v) == {"secure"})}
    secrets = {k for k, v in config.items() if isinstance(v, dict) and set(v) == {"secure"}}
    raw.update({k: "stand-in-secret" for k in secrets})
    raw.pop(f"{PROJECT}:images", None)
    if f"{PROJECT}:hfToken" not in raw:  # set later as a secret (tests), or absent: it never decides an image
        raw[f"{PROJECT}:hfToken"] = "stand-in-secret"
        secrets.add(f"{PROJECT}:hfToken")
    try:
        plan = build_plan(load_config(raw, secrets))
    except (ConfigError, ValueError):
        return {}
    return {image: "sha256:" + hashlib.sha256(f"kserve-intel stand-in {image}".encode()).hexdigest()
            for image in distinct(stack_images(plan)) if moving_tag(image)}


class LocalTarget:
    """One local cluster per KServe release, its Pulumi state and project folder."""

    def __init__(self, version: str):
        self.version = version
        self.dir = LOCAL_ROOT / f"kserve-{version}"
        self.ready_file = self.dir / "ready.json"
        self.project = self.dir / "project"
        self.state = self.dir / "state"

    def running(self) -> dict[str, Any] | None:
        try:
            ready = json.loads(self.ready_file.read_text())
            os.kill(ready["pid"], 0)
        except (OSError, ValueError, KeyError):
            return None
        return ready

    def ensure(self) -> dict[str, Any]:
        ready = self.running()
        if ready:
            say(f"local cluster with KServe {self.version} is running (kubeconfig {ready['kubeconfig']})")
            return ready
        if self.dir.exists():
            # A cluster that stopped (reboot, kill) cannot be resumed: start afresh, with a fresh state.
            say(f"the local cluster with KServe {self.version} had stopped: starting a new, empty one")
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        bins = subprocess.run([str(ENGINE_DIR / "build.sh"), "kubernetes", "etcd", "kwok", self.component()],
                              stdout=subprocess.PIPE, text=True)
        if bins.returncode != 0:
            raise SystemExit(f"engine/build.sh failed (exit {bins.returncode}); see the lines above")
        bin_dir = bins.stdout.strip().splitlines()[-1]
        log = self.dir / "cluster.log"
        say(f"starting the local cluster with KServe {self.version} in the background (log: {log}) ...")
        began = time.monotonic()
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "engine.localcluster", "--kserve", self.version, "--bin-dir", bin_dir,
                 "--workdir", str(self.dir / "cluster"), "--ready-file", str(self.ready_file)],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        while time.monotonic() - began < START_TIMEOUT_SECONDS:
            if self.ready_file.exists():
                ready = json.loads(self.ready_file.read_text())
                say(f"local cluster up in {time.monotonic() - began:.0f} s")
                return ready
            if proc.poll() is not None:
                tail = "\n".join(log.read_text().splitlines()[-20:])
                raise SystemExit(f"the local cluster did not start (exit {proc.returncode}):\n{tail}")
            time.sleep(1)
        os.killpg(proc.pid, signal.SIGTERM)
        raise SystemExit(f"the local cluster did not start within {START_TIMEOUT_SECONDS} s; see {log}")

    def component(self) -> str:
        for comp in sorted(ENGINE_DIR.glob("kserve-*/component.sh")):
            if f"VERSION={self.version}" in comp.read_text().splitlines():
                return comp.parent.name
        raise AssertionError(self.version)

    def stop(self) -> None:
        ready = self.running()
        if ready:
            os.kill(ready["pid"], signal.SIGTERM)
            for _ in range(60):
                try:
                    os.kill(ready["pid"], 0)
                except OSError:
                    break
                time.sleep(0.5)
            say(f"stopped the local cluster with KServe {self.version}")
        shutil.rmtree(self.dir, ignore_errors=True)

    def prepare_project(self, stack: str, document: dict[str, Any]) -> None:
        """A project folder that links to the checkout, with the adapted stack file (its salt kept)."""
        self.project.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True, exist_ok=True)
        for entry in ROOT.iterdir():
            if entry.name.startswith("Pulumi.") and entry.name != "Pulumi.yaml":
                continue
            if entry.name in (".git", ".local-cluster", ".pulumi-state", "build"):
                continue
            link = self.project / entry.name
            if not link.is_symlink():
                link.symlink_to(entry)
        path = self.project / f"Pulumi.{stack}.yaml"
        adapted, changed = local_config(document)
        if path.exists():
            previous = yaml.safe_load(path.read_text()) or {}
            if "encryptionsalt" in previous and "encryptionsalt" not in adapted:
                adapted["encryptionsalt"] = previous["encryptionsalt"]
        path.write_text(yaml.safe_dump(adapted, sort_keys=False))
        if changed:
            say("the stack file, adapted to the local cluster: " + "; ".join(changed))

    def env(self, ready: dict[str, Any], document: dict[str, Any]) -> dict[str, str]:
        env = {**os.environ, "KUBECONFIG": ready["kubeconfig"], "PULUMI_BACKEND_URL": f"file://{self.state}"}
        if "encryptionsalt" not in document and "PULUMI_CONFIG_PASSPHRASE" not in env:
            env["PULUMI_CONFIG_PASSPHRASE"] = LOCAL_PASSPHRASE
        return env


def pulumi(args: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    code = subprocess.run([WITH_ENGINE, "pulumi", *args], cwd=cwd, env=env).returncode
    if check and code != 0:
        raise SystemExit(code)
    return code


def run_pulumi(command: str, stack: str, cwd: Path, env: dict[str, str] | None, parallel: int, adopt: bool) -> int:
    policy = ["--policy-pack", str(ROOT / "policy")]
    if command == "preview":
        args = ["preview", "--diff", *policy]
    elif command == "up":
        args = ["up", *policy] + (["--yes", "--skip-preview"] if not sys.stdin.isatty() else [])
        if adopt:
            env = {**(env or os.environ), **ADOPT_ENV}
    else:
        args = ["destroy"] + (["--yes"] if not sys.stdin.isatty() else [])
    return pulumi([*args, "--stack", stack, "--parallel", str(parallel)], cwd, env, check=False)


def select_stack(stack: str, cwd: Path, env: dict[str, str] | None) -> None:
    pulumi(["stack", "select", "--create", stack, "--secrets-provider", "passphrase"], cwd, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.deploy", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("preview", "up", "destroy", "down"))
    parser.add_argument("--stack", default="xeon")
    parser.add_argument("--parallel", type=int, default=64)
    parser.add_argument("--adopt", action="store_true", help="adopt what a previous destroy retained")
    parser.add_argument("--backend", help="the backend to log into when a cluster is configured and you are not "
                                          "logged in (default: file://.pulumi-state)")
    args = parser.parse_args(argv)
    document = stack_document(args.stack)
    reason = configured_cluster(document)
    if reason:
        say(f"deploying to your cluster ({reason})")
        if pulumi(["whoami"], ROOT, check=False) != 0:
            pulumi(["login", args.backend or f"file://{ROOT / '.pulumi-state'}"], ROOT)
        if args.command == "down":
            args.command = "destroy"
        select_stack(args.stack, ROOT, None)
        return run_pulumi(args.command, args.stack, ROOT, None, args.parallel, args.adopt)

    if args.command == "down":
        code = 0
        for target in (LocalTarget(d.name[len("kserve-"):]) for d in sorted(LOCAL_ROOT.glob("kserve-*"))):
            ready = target.running()
            if ready and (target.state / ".pulumi" / "stacks").exists():
                env = target.env(ready, document)
                for stack_file in sorted((target.state / ".pulumi" / "stacks" / PROJECT).glob("*.json")):
                    name = stack_file.name[:-len(".json")]
                    say(f"destroying stack {name} on the local cluster with KServe {target.version}")
                    code |= run_pulumi("destroy", name, target.project, env, args.parallel, False)
            target.stop()
        return code

    version = kserve_version(document)
    available = local_versions()
    if version not in available:
        raise SystemExit(f"STACK={args.stack} asks for KServe {version} (kserve.version); the local cluster runs "
                         f"{' or '.join(available)}. Set KUBECONFIG to deploy to your own cluster.")
    say(NOTICE)
    target = LocalTarget(version)
    if args.command == "destroy" and not target.running():
        say(f"no local cluster with KServe {version} is running: nothing to destroy")
        return 0
    ready = target.ensure()
    target.prepare_project(args.stack, document)
    env = target.env(ready, document)
    select_stack(args.stack, target.project, env)
    code = run_pulumi(args.command, args.stack, target.project, env, args.parallel, args.adopt)
    if code == 0 and args.command == "up":
        say(f"deployed to the local cluster: KUBECONFIG={ready['kubeconfig']} kubectl get inferenceservices -A; "
            f"`make down` removes it")
    return code


if __name__ == "__main__":
    sys.exit(main())
