"""Shared helpers: run the real program under Pulumi's mocks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

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


def run_stack(stack: str, **overrides: Any) -> Evaluation:
    """Evaluate a committed stack file, with `key=value` overrides (objects as dicts)."""
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in overrides.items()}
    config, secret_keys = stack_config(stack, encoded)
    return evaluate(config, secret_keys, stack=stack)


def raw_config(**values: Any) -> dict[str, str]:
    """Raw engine config from keyword values (kserve-intel: prefix added)."""
    return {f"kserve-intel:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


@pytest.fixture(scope="session")
def committed() -> dict[str, Evaluation]:
    """Each committed stack, evaluated once per session (with a token set)."""
    return {stack: run_stack(stack, hfToken=TOKEN) for stack in STACKS}
