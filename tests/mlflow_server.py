"""A real MLflow tracking server for the registry tests, on 127.0.0.1.

`make test` builds `.venv-mlflow` from the pinned requirements-mlflow.txt (MLflow
cannot share .venv: its dependencies pin other versions of what Pulumi needs), and
runs a migrated empty sqlite database into it once (`template.db`), so a test
session copies that file instead of migrating again. The server gets a sqlite
store and a local `--artifacts-destination` in a temp dir, with the artifact proxy
on (`--serve-artifacts`), so versions are stored under `mlflow-artifacts:/...`
exactly as on a proxied production server.

Versions are registered through MLflow's own REST API (runs, logged models,
artifact uploads through the proxy, model versions, aliases), with small
directories in the `mlflow.transformers` layout and no real weights. Nothing
is downloaded from anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
API = "/api/2.0/mlflow"

# A tiny mlflow.transformers directory (save_pretrained=True): what log_model writes.
CONFIG_JSON = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
               "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 128}
TRANSFORMERS_LAYOUT = {
    "MLmodel": "flavors:\n  transformers:\n    source_model_name: meta-llama/Llama-3.2-1B\n    pipeline_model_type: LlamaForCausalLM\n",
    "model/config.json": json.dumps(CONFIG_JSON),
    "model/generation_config.json": json.dumps({"max_new_tokens": 16}),
    "model/model.safetensors": "not real weights",
    "components/tokenizer/tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "BPE"}}),
    "components/tokenizer/tokenizer_config.json": json.dumps({"model_max_length": 2048}),
}
# save_pretrained=False: only a hub reference, no weights.
HUB_REFERENCE_LAYOUT = {
    "MLmodel": "flavors:\n  transformers:\n    source_model_name: meta-llama/Llama-3.2-1B\n",
    "components/tokenizer/tokenizer.json": "{}",
}
# A directory with weights but no config.json.
NO_CONFIG_LAYOUT = {"model/model.safetensors": "x", "components/tokenizer/tokenizer.json": "{}"}

# LoRA adapters (rules/lora.py). peft's adapter_config.json (rank `r`) and weights, no real tensors.
ADAPTER_CONFIG_JSON = {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"],
                       "base_model_name_or_path": "Qwen/Qwen3-1.7B", "task_type": "CAUSAL_LM"}
# mlflow.transformers.log_model of a PEFT model: the adapter in peft/, the tokenizer beside it.
PEFT_LAYOUT = {
    "MLmodel": "flavors:\n  transformers:\n    source_model_name: Qwen/Qwen3-1.7B\n    peft_adaptor: peft\n",
    "peft/adapter_config.json": json.dumps(ADAPTER_CONFIG_JSON),
    "peft/adapter_model.safetensors": "not real adapter weights",
    "components/tokenizer/tokenizer.json": json.dumps({"version": "1.0"}),
}
# An adapter directory logged as is (mlflow.log_artifacts of a peft save_pretrained output).
ADAPTER_LAYOUT = {
    "adapter_config.json": json.dumps(ADAPTER_CONFIG_JSON),
    "adapter_model.safetensors": "not real adapter weights",
    "README.md": "fine-tuned for support chats",
}
# adapter_config.json without its weights.
ADAPTER_NO_WEIGHTS_LAYOUT = {"adapter_config.json": json.dumps(ADAPTER_CONFIG_JSON)}


def mlflow_executable() -> Path:
    path = Path(os.environ.get("MLFLOW") or ROOT / ".venv-mlflow" / "bin" / "mlflow")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MlflowServer:
    url: str
    workdir: Path
    process: subprocess.Popen
    started_in: float
    log: Path
    session: requests.Session = field(default_factory=requests.Session)

    # --- raw REST -----------------------------------------------------------------
    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.session.post(self.url + API + path, json=body, timeout=30)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def upload(self, artifact_path: str, files: dict[str, str]) -> None:
        """PUT files through the artifact proxy under `mlflow-artifacts:/<artifact_path>`."""
        for name, text in files.items():
            response = self.session.put(f"{self.url}/api/2.0/mlflow-artifacts/artifacts/{artifact_path}/{name}",
                                        data=text.encode(), timeout=30)
            assert response.status_code == 200, (name, response.status_code, response.text)

    # --- registry operations as a team would do them ----------------------------------
    def ensure_model(self, name: str) -> None:
        response = self.session.post(self.url + API + "/registered-models/create", json={"name": name}, timeout=30)
        assert response.status_code == 200 or "RESOURCE_ALREADY_EXISTS" in response.text, response.text

    def log_run_artifacts(self, files: dict[str, str], artifact_dir: str = "model",
                          experiment_id: str = "0") -> tuple[str, str]:
        """A run with `files` under `<run artifacts>/<artifact_dir>`; returns (run_id, run artifact_uri)."""
        run = self.post("/runs/create", {"experiment_id": experiment_id, "start_time": int(time.time() * 1000)})["run"]
        run_id, root = run["info"]["run_id"], run["info"]["artifact_uri"]
        if root.startswith("mlflow-artifacts:"):
            self.upload(root.split(":", 1)[1].lstrip("/") + f"/{artifact_dir}", files)
        else:
            target = Path(root.removeprefix("file://")) / artifact_dir
            for name, text in files.items():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                (target / name).write_text(text)
        return run_id, root

    def register_from_run(self, name: str, files: dict[str, str], experiment_id: str = "0") -> dict[str, Any]:
        """`create_model_version(source="runs:/<run>/model")`: the download URI stays runs:/ (unresolved)."""
        self.ensure_model(name)
        run_id, _ = self.log_run_artifacts(files, experiment_id=experiment_id)
        return self.post("/model-versions/create", {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id})["model_version"]

    def register_logged_model(self, name: str, files: dict[str, str]) -> dict[str, Any]:
        """What mlflow.transformers.log_model(..., registered_model_name=name) does in MLflow 3:
        a logged model `m-<id>` with its artifacts, then a version with source models:/m-<id>."""
        self.ensure_model(name)
        run = self.post("/runs/create", {"experiment_id": "0", "start_time": int(time.time() * 1000)})["run"]
        run_id = run["info"]["run_id"]
        model = self.post("/logged-models", {"experiment_id": "0", "name": "model", "source_run_id": run_id})["model"]
        model_id, location = model["info"]["model_id"], model["info"]["artifact_uri"]
        self.upload(location.split(":", 1)[1].lstrip("/"), files)
        response = self.session.patch(f"{self.url}{API}/logged-models/{model_id}",
                                      json={"model_id": model_id, "status": "LOGGED_MODEL_READY"}, timeout=30)
        assert response.status_code == 200, response.text
        return self.post("/model-versions/create", {"name": name, "source": f"models:/{model_id}", "run_id": run_id,
                                                    "model_id": model_id})["model_version"]

    def register_source(self, name: str, source: str) -> dict[str, Any]:
        self.ensure_model(name)
        return self.post("/model-versions/create", {"name": name, "source": source})["model_version"]

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self.post("/registered-models/alias", {"name": name, "alias": alias, "version": str(version)})

    def stop(self) -> None:
        self.session.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def template_db(executable: Path) -> Path:
    """A migrated empty sqlite store beside the venv (made once; `mlflow db upgrade`)."""
    return executable.parent.parent / "template.db"


@dataclass
class Launch:
    """A server process that is booting; `wait` makes it an `MlflowServer` once /health answers."""

    url: str
    workdir: Path
    process: subprocess.Popen
    started: float
    log: Path

    def wait(self, timeout: float = 240.0) -> MlflowServer:
        deadline = self.started + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except requests.exceptions.RequestException:
                pass
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"mlflow server did not answer /health within {timeout:g} s:\n"
                                   f"{self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        return MlflowServer(self.url, self.workdir, self.process, time.monotonic() - self.started, self.log)


def start_server(workdir: Path, timeout: float = 240.0) -> MlflowServer:
    return launch(workdir).wait(timeout)


def launch(workdir: Path) -> Launch:
    """Start the server without waiting for it (the suite boots it while other tests run)."""
    executable = mlflow_executable()
    if not executable.exists():
        raise FileNotFoundError(f"MLflow not found at {executable}: run `make test` (it creates .venv-mlflow "
                                "from requirements-mlflow.txt) or set MLFLOW to an mlflow executable")
    db = workdir / "mlflow.db"
    template = template_db(executable)
    if template.exists():
        shutil.copyfile(template, db)
    artifacts = workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update({"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
                "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
    started = time.monotonic()
    process = subprocess.Popen(
        [str(executable), "server", "--backend-store-uri", f"sqlite:///{db}", "--artifacts-destination", str(artifacts),
         "--serve-artifacts", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=workdir, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    return Launch(f"http://127.0.0.1:{port}", workdir, process, started, log)
