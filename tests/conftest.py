"""Shared helpers: run the real program under Pulumi's mocks."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kserve_intel.online.images import Resolved, TagNotFound, parse_reference  # noqa: E402
from offline.engine import Evaluation, evaluate, stack_config  # noqa: E402

STACKS = ("xeon", "gaudi", "gaudi3")
# Resource types as the engine registers them.
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
CSR = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
RELEASE = "kubernetes:helm.sh/v3:Release"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
TOKEN = "hf_test_token_value_never_in_plaintext"


class PreviewResolver:
    """Stands in for the registries under the mocks: each reference resolves to a digest derived from its text,
    so a render shows what a preview applies (`repo:tag@sha256:...`) without asking anyone. `missing` refs are
    refused as a registry would (MANIFEST_UNKNOWN); `asked` records every reference resolved."""

    def __init__(self, missing: tuple[str, ...] = (), salt: str = "") -> None:
        self.missing, self.salt, self.asked = set(missing), salt, []

    def resolve(self, ref: str) -> Resolved:
        self.asked.append(ref)
        image = parse_reference(ref)
        if ref in self.missing:
            raise TagNotFound(ref, f"tag {image.tag!r} not found in {image.name}", "MANIFEST_UNKNOWN: manifest unknown")
        if image.digest:
            return Resolved(ref, image, image.digest)
        return Resolved(ref, image, "sha256:" + hashlib.sha256((self.salt + ref).encode()).hexdigest())


def run_stack(stack: str, *, image_resolver: Any = None, raise_errors: bool = True, **overrides: Any) -> Evaluation:
    """Evaluate a committed stack file, with `key=value` overrides (objects as dicts); with `image_resolver`
    (PreviewResolver) the images are pinned as a preview pins them."""
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in overrides.items()}
    config, secret_keys = stack_config(stack, encoded)
    return evaluate(config, secret_keys, stack=stack, image_resolver=image_resolver, raise_errors=raise_errors)


def raw_config(**values: Any) -> dict[str, str]:
    """Raw engine config from keyword values (kserve-intel: prefix added)."""
    return {f"kserve-intel:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


@pytest.fixture(scope="session")
def committed() -> dict[str, Evaluation]:
    """Each committed stack, evaluated once per session (with a token set)."""
    return {stack: run_stack(stack, hfToken=TOKEN) for stack in STACKS}


@pytest.fixture(scope="session")
def committed_preview() -> dict[str, Evaluation]:
    """Each committed stack as `pulumi preview` sends it to the policy pack: images pinned by digest."""
    return {stack: run_stack(stack, hfToken=TOKEN, image_resolver=PreviewResolver()) for stack in STACKS}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Boot the real MLflow server for tests/test_registry.py now, so it is up when they run."""
    if not any(item.module.__name__.endswith("test_registry") for item in session.items if hasattr(item, "module")):
        return
    import tempfile

    from tests import mlflow_server

    try:
        session.config.mlflow_launch = mlflow_server.launch(Path(tempfile.mkdtemp(prefix="kserve-intel-mlflow-")))
    except Exception as error:  # noqa: BLE001 - the fixture re-raises it, so the tests fail
        session.config.mlflow_launch = error


def pytest_unconfigure(config: pytest.Config) -> None:
    launch = getattr(config, "mlflow_launch", None)
    if launch is not None and not isinstance(launch, BaseException) and launch.process.poll() is None:
        launch.process.terminate()
        launch.process.wait(timeout=20)
    if launch is not None and not isinstance(launch, BaseException):
        import shutil

        shutil.rmtree(launch.workdir, ignore_errors=True)
