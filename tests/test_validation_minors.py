"""Issue 22: strict validation against the CRDs of the stack's own KServe minor.

Before, every v0.14-v0.19 stack was checked against v0.20's CRDs, so a field only a newer KServe knows passed
for an older stack (found this way: `workerSpec.pipelineParallelSize`, which v0.14 does not have).
"""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from kserve_intel.catalog.kserve import SCHEMA_TAGS, SUPPORTED_TAGS, KServeRelease
from offline.engine import redact
from offline.render import render
from offline.validation import SCHEMA_DIR, kserve_schema_version, validate_directory, validate_objects
from tests.conftest import ROOT, TOKEN, run_stack

EMITTED = ("clusterservingruntimes", "clusterstoragecontainers", "inferenceservices")
LOCAL_CACHE = ("localmodelcaches", "localmodelnodegroups")
MINORS = sorted(SCHEMA_TAGS)


def test_every_supported_tag_has_its_own_minor_folder_with_every_kind_the_program_emits():
    for tag in SUPPORTED_TAGS:
        release = KServeRelease(tag)
        folder = SCHEMA_DIR / "kserve" / release.schema_tag
        assert release.schema_tag.startswith(f"v0.{release.minor}."), tag
        assert kserve_schema_version(tag) == release.schema_tag
        kinds = EMITTED + (LOCAL_CACHE if release.minor >= 14 else ())
        for kind in kinds:
            assert (folder / f"serving.kserve.io_{kind}.yaml").is_file(), (tag, kind)


def _isvc() -> dict:
    return {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "m", "namespace": "models"},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "vllm-intel-xeon"}, "runtime": "r",
                                         "storageUri": "hf://a/b"}}},
    }


def _with_storage_container_name(obj: dict) -> dict:
    obj["spec"]["predictor"]["storageContainerName"] = "kserve-intel-hf-mirror"
    return obj


def _with_storage_uris(obj: dict) -> dict:
    obj["spec"]["predictor"]["storageUris"] = [{"uri": "hf://a/lora", "mountPath": "/mnt/lora/a"}]
    del obj["spec"]["predictor"]["model"]["storageUri"]
    return obj


def _with_parallel_sizes(obj: dict) -> dict:
    obj["spec"]["predictor"]["workerSpec"] = {"pipelineParallelSize": 2, "tensorParallelSize": 8}
    return obj


# (what, the first minor that has the field, how to add it, the field's name in the error)
NEWER_FIELDS = [
    ("predictor.storageContainerName", 20, _with_storage_container_name, "storageContainerName"),
    ("predictor.storageUris", 16, _with_storage_uris, "storageUris"),
    ("predictor.workerSpec sizes", 15, _with_parallel_sizes, "workerSpec"),
]


@pytest.mark.parametrize("what,since,add,field", NEWER_FIELDS, ids=[w for w, *_ in NEWER_FIELDS])
@pytest.mark.parametrize("minor", MINORS)
def test_a_field_only_a_newer_minor_knows_is_refused_for_an_older_stack(what, since, add, field, minor):
    obj = add(copy.deepcopy(_isvc()))
    problems = validate_objects([obj], SCHEMA_TAGS[minor])
    if minor >= since:
        assert problems == [], problems
    else:
        assert any(field in p and "unknown field" in p for p in problems), problems


def test_make_validate_picks_the_rendered_stacks_own_minor(tmp_path):
    """`make validate` (python -m offline.validation DIR) reads kserveVersion from the render's stack.yaml."""
    for tag, refused in (("v0.19.0", True), ("v0.20.0", False)):
        out = render("xeon", {"hfToken": TOKEN, "kserve.version": tag}, tmp_path / tag)
        assert validate_directory(out) == []
        path = next(out.glob("ModelDeployment-*.yaml"))
        docs = list(yaml.safe_load_all(path.read_text()))
        for doc in docs:
            if doc["kind"] == "InferenceService":
                _with_storage_container_name(doc)
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        result = subprocess.run([sys.executable, "-m", "offline.validation", str(out)], cwd=ROOT,
                                capture_output=True, text=True, check=False)
        assert (result.returncode == 1) is refused, result.stdout + result.stderr
        assert ("storageContainerName: unknown field" in result.stdout) is refused


# Per minor, a stack with the features that minor offers: the program emits nothing its KServe does not know.
FEATURES_FROM = {
    13: ("xeon", {}),
    14: ("gaudi", {"autoscaling": {"enabled": True, "engine": "keda", "maxReplicas": 2}}),
    15: ("gaudi", {"localModelCache": {"enabled": True}, "autoscaling": {"enabled": False},
                   "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "localCache": {"size": "30Gi"}},
                              "meta-llama/Llama-3.1-405B-Instruct"],
                   "storage": {"size": "1Ti", "accessMode": "ReadWriteMany"}}),
    16: ("xeon", {"models": [{"id": "Qwen/Qwen3-1.7B", "adapters": [
        {"name": "sql", "id": "example-org/qwen3-sql-lora", "revision": "v1", "gated": True}]}]}),
}


@pytest.mark.parametrize("minor", MINORS)
def test_each_minor_renders_objects_its_own_crds_accept(minor):
    stack, overrides = FEATURES_FROM[max(m for m in FEATURES_FROM if m <= minor)]
    evaluation = run_stack(stack, hfToken=TOKEN, **overrides, kserve={"version": SCHEMA_TAGS[minor]})
    objects = [redact(o) for o in evaluation.objects()]
    assert any(o["kind"] == "InferenceService" for o in objects)
    assert validate_objects(objects, SCHEMA_TAGS[minor]) == []
