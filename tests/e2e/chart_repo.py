"""A Helm chart repository on 127.0.0.1: charts the test packages itself, an index.yaml, plain HTTP.

Air-gapped users point `chartRepositories` at a mirror like this; the e2e test proves the program's
Helm releases install from it (repository, version, values, wait) and uninstall.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
import time
from pathlib import Path
from typing import Mapping

import yaml


def package_chart(out_dir: Path, name: str, version: str, files: Mapping[str, bytes]) -> Path:
    """`helm package` by hand: <name>-<version>.tgz holding <name>/Chart.yaml and the given files."""
    chart_yaml = yaml.safe_dump({"apiVersion": "v2", "name": name, "version": version, "appVersion": version,
                                 "description": f"{name} packaged by the kserve-intel e2e tests"}).encode()
    path = out_dir / f"{name}-{version}.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for rel, data in {"Chart.yaml": chart_yaml, **files}.items():
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def write_index(out_dir: Path, base_url: str) -> None:
    entries: dict[str, list[dict]] = {}
    for tgz in sorted(out_dir.glob("*.tgz")):
        with tarfile.open(tgz) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("/Chart.yaml"))
            meta = yaml.safe_load(tar.extractfile(member).read())
        entries.setdefault(meta["name"], []).append({
            **meta, "urls": [f"{base_url}/{tgz.name}"], "created": "2026-01-01T00:00:00Z",
            "digest": hashlib.sha256(tgz.read_bytes()).hexdigest(),
        })
    index = {"apiVersion": "v1", "entries": entries, "generated": "2026-01-01T00:00:00Z"}
    (out_dir / "index.yaml").write_text(yaml.safe_dump(index))


class ChartRepository:
    """Serves a folder over HTTP on a free loopback port until stopped; records every request path."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.requests: list[str] = []
        repo = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(repo.directory), **kwargs)

            def log_message(self, fmt, *args):  # keep pytest output clean; remember what was fetched
                repo.requests.append(self.path)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ChartRepository":
        write_index(self.directory, self.url)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
