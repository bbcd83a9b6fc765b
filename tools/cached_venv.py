"""Build a test or program venv once per machine and link it into the checkout.

    python3 tools/cached_venv.py .venv pip requirements-dev.txt
    python3 tools/cached_venv.py .venv-vllm-0.33.0 vllm 0.33.0 requirements-vllm-0.33.0.txt
    python3 tools/cached_venv.py .venv-mlflow mlflow requirements-mlflow.txt

The venv is built under ~/.cache/kserve-intel/venvs/<link>-<key> (or $KSERVE_INTEL_VENV_CACHE), where the key
hashes everything that decides its content: the requirements files (and the files they include with `-r`),
the recipe, the builder scripts and the Python version. `<link>` in the checkout becomes a symlink to it, so a
second clone, a branch or CI on a warm machine reuses it, and a change to a pinned version builds a new one.
A fresh machine builds every venv from PyPI as before (nothing here is required to be on the machine).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("KSERVE_INTEL_VENV_CACHE")
             or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kserve-intel" / "venvs")
PIP = ("-m", "pip", "--disable-pip-version-check", "-q")


def requirement_files(path: Path) -> list[Path]:
    """A requirements file and every file it includes with `-r`."""
    found = [path]
    for line in path.read_text().splitlines():
        if line.strip().startswith("-r "):
            found += requirement_files(path.parent / line.strip()[3:].strip())
    return found


def key(recipe: list[str], inputs: list[Path]) -> str:
    digest = hashlib.sha256()
    digest.update(" ".join(recipe).encode())
    digest.update(sys.version.encode())
    for path in sorted(set(inputs)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def build(recipe: list[str], target: Path) -> None:
    kind, args = recipe[0], recipe[1:]
    if kind == "vllm":
        version, requirements = args
        subprocess.run([sys.executable, str(ROOT / "tools" / "vllm_parser_venv.py"), version, str(target),
                        requirements], cwd=ROOT, check=True)
        return
    (requirements,) = args
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    python = str(target / "bin" / "python")
    subprocess.run([python, *PIP, "install", "-r", requirements], cwd=ROOT, check=True)
    if kind == "mlflow":
        # An empty, migrated MLflow store the tests copy, so no test run waits for migrations.
        subprocess.run([str(target / "bin" / "mlflow"), "db", "upgrade", f"sqlite:///{target / 'template.db'}"],
                       check=True, capture_output=True)


def main(argv: list[str]) -> int:
    link, recipe = Path(argv[0]), argv[1:]
    inputs = [ROOT / "tools" / "cached_venv.py"]
    for arg in recipe[1:]:
        if arg.endswith(".txt"):
            inputs += requirement_files(ROOT / arg)
    if recipe[0] == "vllm":
        inputs += [ROOT / "tools" / "vllm_parser_venv.py"]
    target = CACHE / f"{str(link).strip('./').replace('/', '-')}-{key(recipe, inputs)}"
    CACHE.mkdir(parents=True, exist_ok=True)
    # venvs are not relocatable, so each is built in place; a lock keeps two clones from building it at once.
    with open(f"{target}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".installed").exists():
            shutil.rmtree(target, ignore_errors=True)  # what an interrupted build left
            print(f"{link}: building {target}", flush=True)
            build(recipe, target)
            (target / ".installed").touch()
    if link.is_symlink() or link.exists():
        if link.is_symlink() or link.is_file():
            link.unlink()
        else:
            shutil.rmtree(link)
    link.symlink_to(target)
    print(f"{link} -> {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
