"""Issue 22: the offline render writes every field the program registered, nothing less and nothing more.

For every committed stack and the feature stacks of tests/test_combinations.py, each Kubernetes object and
Helm release the program registered under the mocks (its inputs, secrets redacted) must come back unchanged
from the YAML `offline.render` writes. The render used to keep a fixed list of top-level keys and dropped,
for example, a ServiceAccount's `secrets` (where KServe's storage initializer finds its credentials).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from offline.engine import Evaluation, redact
from offline.render import files_for
from tests.conftest import STACKS, TOKEN, run_stack
from tests.test_combinations import CASES

RELEASE = "kubernetes:helm.sh/v3:Release"
FEATURE_CASES = ("xeon-lora-registry-canary-v020", "xeon-local-cache-v020", "gaudi-multinode-v015",
                 "gaudi3-serverless-istio", "xeon-backends-v013", "gaudi3-keda-v020")


def _identity(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"]


def _registered(evaluation: Evaluation) -> tuple[dict, dict]:
    """(objects by identity, Helm releases by namespace/name) as the program registered them."""
    objects, releases = {}, {}
    for registration in evaluation.registrations:
        if registration.type == RELEASE:
            inputs = redact(registration.inputs)
            releases[(inputs["namespace"], inputs["name"])] = inputs
        elif registration.type.startswith("kubernetes:") and not registration.type.startswith("pulumi:"):
            obj = redact(registration.inputs)
            objects[_identity(obj)] = obj
    return objects, releases


def _rendered(evaluation: Evaluation, stack: str) -> tuple[dict, dict]:
    """(objects by identity, Helm releases by namespace/name) read back from what the render writes."""
    objects, releases = {}, {}
    for name, text in files_for(evaluation, stack).items():
        docs = [d for d in yaml.safe_load_all(text) if d is not None] if text else []
        if name == "stack.yaml":
            continue
        for doc in docs:
            if name == "helm-releases.yaml":
                doc = dict(doc)
                repository = doc.pop("repository")
                options = doc.pop("repositoryOpts", {})
                if repository is not None or options:
                    doc["repositoryOpts"] = {**({"repo": repository} if repository is not None else {}), **options}
                releases[(doc["namespace"], doc["name"])] = doc
            else:
                assert _identity(doc) not in objects, f"{_identity(doc)} written twice"
                objects[_identity(doc)] = doc
    return objects, releases


def _evaluations() -> list[tuple[str, str, dict[str, Any]]]:
    committed = [(stack, stack, {}) for stack in STACKS]
    return committed + [(case, *CASES[case]) for case in FEATURE_CASES]


@pytest.mark.parametrize("case,stack,overrides", _evaluations(), ids=[c for c, _, _ in _evaluations()])
def test_render_writes_every_field_the_program_registered(case, stack, overrides):
    evaluation = run_stack(stack, hfToken=TOKEN, **overrides)
    registered_objects, registered_releases = _registered(evaluation)
    rendered_objects, rendered_releases = _rendered(evaluation, stack)
    assert registered_objects, "the program registered no object"
    assert rendered_objects.keys() == registered_objects.keys()
    for identity, obj in registered_objects.items():
        assert rendered_objects[identity] == obj, f"{case}: {identity} rendered differently from its registration"
    assert rendered_releases == registered_releases


def test_a_service_account_keeps_its_secrets_in_the_render():
    """The field the render used to drop: the Secrets KServe's credential builder reads from the ServiceAccount."""
    stack, overrides = CASES["xeon-lora-registry-canary-v020"]
    evaluation = run_stack(stack, hfToken=TOKEN, **overrides)
    text = files_for(evaluation, stack)["ModelNamespace-models.yaml"]
    (account,) = [d for d in yaml.safe_load_all(text) if d["kind"] == "ServiceAccount"]
    assert account["secrets"] == [{"name": "hf-token"}]
    assert list(account)[:3] == ["apiVersion", "kind", "metadata"]


def test_helm_releases_are_written_with_their_timeout_and_options():
    evaluation = run_stack("xeon", hfToken=TOKEN)
    releases = list(yaml.safe_load_all(files_for(evaluation, "xeon")["helm-releases.yaml"]))
    assert releases and all({"timeout", "cleanupOnFail", "createNamespace"} <= set(r) for r in releases)
    assert all(list(r)[:5] == ["name", "namespace", "chart", "repository", "version"] and list(r)[-1] == "values"
               for r in releases)
