"""Build a test-only venv holding one vLLM version's real argument parser.

    python3 tools/vllm_parser_venv.py 0.33.0 .venv-vllm-0.33.0 requirements-vllm-0.33.0.txt

The official `vllm` wheel of that version is downloaded from PyPI (`pip download --no-deps`,
hash-checked by pip) and its Python sources are unpacked into the venv; its compiled
kernels are not, nor torch or any CUDA library (PyPI's Linux torch needs ~6 GB of CUDA
wheels just to import). `tests/parsers/inert_torch.py` stands in for torch at import time;
every argparse definition, default and choice is vLLM's own code. The pure-Python packages
the parser's imports need are pinned in the requirements file and installed with --no-deps.

--discover instead installs vLLM's declared requirements (minus torch and CUDA ones) and
prints `pip freeze`, to refresh a requirements file for a new version.
"""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

WHEELS = Path(".cache/vllm-wheels")
# Never installed: torch, its CUDA stack, and kernels only a GPU run needs.
HEAVY = ("torch", "triton", "xformers", "flashinfer", "nvidia", "cupy", "ray", "numba", "cuda", "tilelang",
         "quack", "humming", "tokenspeed", "pynvvideocodec", "fastsafetensors", "instanttensor", "zentorch",
         "intel-extension", "deep-gemm", "nixl", "opencv", "mistral-common", "mistral_common")
# Installed without their own requirements (they declare torch).
NO_DEPS = ("xgrammar", "compressed-tensors", "compressed_tensors", "outlines", "lm-format-enforcer", "depyf",
           "llguidance", "outlines_core", "outlines-core")


def _pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True)


def wheel(version: str) -> Path:
    WHEELS.mkdir(parents=True, exist_ok=True)
    found = sorted(WHEELS.glob(f"vllm-{version}-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "download", "--no-deps",
                        "--only-binary=:all:",
                        "-d", str(WHEELS), f"vllm=={version}"], check=True)
        found = sorted(WHEELS.glob(f"vllm-{version}-*.whl"))
    return found[-1]


def unpack_sources(whl: Path, site: Path) -> int:
    count = 0
    with zipfile.ZipFile(whl) as archive:
        for name in archive.namelist():
            if name.endswith((".py", ".json", ".jinja")) or ".dist-info/" in name:
                archive.extract(name, site)
                count += 1
    return count


def _requires(whl: Path) -> list[str]:
    with zipfile.ZipFile(whl) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode().splitlines()
    reqs = []
    for line in lines:
        if not line.startswith("Requires-Dist:"):
            continue
        req = line.split(":", 1)[1].strip()
        if "extra ==" in req:
            continue
        reqs.append(req)
    return reqs


def main(argv: list[str]) -> int:
    discover = "--discover" in argv
    argv = [a for a in argv if a != "--discover"]
    version, target, requirements = argv
    target_path = Path(target)
    venv.EnvBuilder(with_pip=True, clear=True).create(target_path)
    python = target_path / "bin" / "python"
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        text=True).strip())
    whl = wheel(version)
    if discover:
        plain, nodeps = [], []
        for req in _requires(whl):
            name = req.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("!")[0].strip().lower()
            if any(name.startswith(h) for h in HEAVY):
                continue
            (nodeps if name in NO_DEPS else plain).append(req)
        _pip(python, "install", *plain)
        if nodeps:
            _pip(python, "install", "--no-deps", *nodeps)
        frozen = subprocess.check_output([str(python), "-m", "pip", "freeze"], text=True)
        kept = [l for l in frozen.splitlines() if not any(l.lower().startswith(h) for h in HEAVY)]
        Path(requirements).write_text(
            f"# Pure-Python packages vLLM {version}'s argument parser imports (tools/vllm_parser_venv.py --discover).\n"
            + "\n".join(kept) + "\n")
    else:
        _pip(python, "install", "--no-deps", "-r", requirements)
    files = unpack_sources(whl, site)
    print(f"{target}: vLLM {version} sources ({files} files) from {whl.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
