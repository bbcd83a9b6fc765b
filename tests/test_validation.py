"""The strict validator must both pass valid objects and fail invalid ones.

A validator that accepts everything would make every other test meaningless,
so each rule is shown failing on a concrete bad object. Compiled schemas are
cached in the module, so the 2 MB InferenceService CRD is parsed once per run.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from offline import validation
from offline.validation import SCHEMA_DIR, kserve_schema_version, main, validate_directory, validate_object, validate_objects

REPO = Path(__file__).resolve().parent.parent
BOTH = ["v0.13.0", "v0.20.0"]


def isvc(**predictor_extra: Any) -> dict[str, Any]:
    """Minimal vLLM InferenceService, as our builders emit it."""
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "llama-3-8b",
            "namespace": "models",
            "labels": {"app.kubernetes.io/name": "llama-3-8b"},
            "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"},
        },
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "vllm"},
                    "runtime": "vllm-cpu",
                    "args": ["--model=/mnt/models", "--port=8080"],
                    "resources": {
                        "requests": {"cpu": "4", "memory": "16Gi"},
                        "limits": {"cpu": 8, "memory": "32Gi"},
                    },
                },
                **predictor_extra,
            }
        },
    }


def cluster_serving_runtime() -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": "vllm-cpu"},
        "spec": {
            "supportedModelFormats": [{"name": "vllm", "version": "1", "autoSelect": True}],
            "protocolVersions": ["v2"],
            "containers": [
                {
                    "name": "kserve-container",
                    "image": "opea/vllm-cpu:1.0",
                    "args": ["--port=8080"],
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "1"}},
                }
            ],
        },
    }


def service_monitor() -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "llama-3-8b", "namespace": "models", "labels": {"release": "prometheus"}},
        "spec": {
            "selector": {"matchLabels": {"app": "llama-3-8b"}},
            "namespaceSelector": {"matchNames": ["models"]},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
        },
    }


def namespace(name: str = "models") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def pvc() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "model-cache", "namespace": "models"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}}},
    }


def secret() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "hf-token", "namespace": "models"},
        "type": "Opaque",
        "stringData": {"HF_TOKEN": "hf_xxx"},
    }


# --- KServe version mapping -------------------------------------------------


@pytest.mark.parametrize(
    ("given", "folder"),
    [("v0.13.0", "v0.13.0"), ("v0.13.1", "v0.13.0"), ("0.13.1", "v0.13.0"),
     ("v0.14.0", "v0.14.1"), ("v0.15.0", "v0.15.2"), ("v0.16.0", "v0.16.0"), ("v0.17.0", "v0.17.1"),
     ("v0.18.1", "v0.18.1"), ("v0.19.0", "v0.19.0"), ("v0.20.0", "v0.20.0")],
)
def test_kserve_schema_version(given: str, folder: str) -> None:
    assert kserve_schema_version(given) == folder
    assert (SCHEMA_DIR / "kserve" / folder).is_dir()


def test_bad_versions_are_errors_not_silent_defaults() -> None:
    with pytest.raises(ValueError):
        kserve_schema_version("latest")
    with pytest.raises(ValueError, match="no schemas for Kubernetes"):
        validate_object(namespace(), kubernetes_version="1.12.0")
    assert validate_object(namespace(), kubernetes_version="v1.37.0") == []


# --- InferenceService --------------------------------------------------------


@pytest.mark.parametrize("version", BOTH)
def test_minimal_inference_service_is_valid(version: str) -> None:
    assert validate_object(isvc(), version) == []


@pytest.mark.parametrize("version", BOTH)
def test_unknown_field_is_rejected_with_its_path(version: str) -> None:
    obj = isvc()
    obj["spec"]["predictor"]["model"]["bogus"] = True
    assert validate_object(obj, version) == [
        "InferenceService/llama-3-8b: $.spec.predictor.model.bogus: unknown field"
    ]


def test_typo_gets_a_suggestion() -> None:
    obj = isvc()
    obj["spec"]["predictor"]["model"]["runtim"] = obj["spec"]["predictor"]["model"].pop("runtime")
    (error,) = validate_object(obj)
    assert '$.spec.predictor.model.runtim: unknown field (did you mean "runtime"?)' in error


@pytest.mark.parametrize(
    "extra",
    [
        # Absent from the v0.13.0 CRD, present in v0.20.0.
        {"workerSpec": {"tensorParallelSize": 2, "pipelineParallelSize": 2}},
        {"storageUris": [{"uri": "hf://meta-llama/Llama-3-8B", "mountPath": "/mnt/models"}]},
        {"autoScaling": {"metrics": []}},
    ],
    ids=["workerSpec", "storageUris", "autoScaling"],
)
def test_field_only_in_v0_20_depends_on_kserve_version(extra: dict[str, Any]) -> None:
    obj = isvc(**extra)
    (field,) = extra
    assert validate_object(obj, "v0.20.0") == []
    assert validate_object(obj, "v0.19.0") == []  # every later release uses the v0.20.0 schemas
    assert validate_object(obj, "v0.13.1") == [
        f"InferenceService/llama-3-8b: $.spec.predictor.{field}: unknown field"
    ]


def test_wrong_types_and_quantities_fail() -> None:
    obj = isvc()
    model = obj["spec"]["predictor"]["model"]
    model["resources"]["limits"]["memory"] = "32GB"
    model["resources"]["limits"]["cpu"] = True
    model["args"] = "--port=8080"
    errors = "\n".join(validate_object(obj))
    assert "$.spec.predictor.model.resources.limits.memory: '32GB' is not a Kubernetes quantity" in errors
    assert "$.spec.predictor.model.resources.limits.cpu: must be an integer or a string" in errors
    assert "$.spec.predictor.model.args: '--port=8080' is not of type 'array'" in errors


def test_duplicate_list_map_keys_fail() -> None:
    obj = isvc()
    obj["spec"]["predictor"]["model"]["env"] = [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
    obj["spec"]["predictor"]["model"]["ports"] = [{"containerPort": 8080}, {"containerPort": 8080, "protocol": "TCP"}]
    errors = "\n".join(validate_object(obj, "v0.20.0"))
    assert "$.spec.predictor.model.env[1]: duplicate entry" in errors
    assert "$.spec.predictor.model.ports[1]: duplicate entry" in errors  # protocol defaults to TCP


def test_inference_service_name_follows_kserve_rule() -> None:
    obj = isvc()
    obj["metadata"]["name"] = "1llama.v3"
    (error,) = validate_object(obj)
    assert "$.metadata.name: '1llama.v3' must match [a-z]([-a-z0-9]*[a-z0-9])?" in error


# --- metadata ------------------------------------------------------------------


@pytest.mark.parametrize("make", [isvc, namespace], ids=["crd", "builtin"])
def test_label_value_longer_than_63_fails(make: Any) -> None:
    obj = make()
    obj["metadata"]["labels"] = {"model": "x" * 64}
    (error,) = validate_object(obj)
    assert '$.metadata.labels.model: invalid label value' in error
    assert "must be no more than 63 characters (has 64)" in error


@pytest.mark.parametrize(
    "key", ["-bad", "a/b/c", "Example.com/x", "x" * 64, "/x", "x/"],
)
def test_invalid_label_keys_fail(key: str) -> None:
    obj = isvc()
    obj["metadata"]["labels"] = {key: "ok"}
    (error,) = validate_object(obj)
    assert "invalid label key" in error


def test_valid_label_keys_and_empty_value_pass() -> None:
    obj = isvc()
    obj["metadata"]["labels"] = {"app.kubernetes.io/part-of": "kserve-intel", "a_b.c-d": "", "x": "A.b_c-9"}
    assert validate_object(obj) == []


def test_metadata_is_strict_and_requires_a_name() -> None:
    obj = isvc()
    obj["metadata"]["lables"] = {}
    del obj["metadata"]["name"]
    errors = validate_object(obj)
    assert 'InferenceService/<no name>: $.metadata.lables: unknown field (did you mean "labels"?)' in errors
    assert "InferenceService/<no name>: $.metadata.name: is required (or generateName)" in errors
    obj = isvc()
    obj["metadata"] = {"generateName": "llama-"}
    assert validate_object(obj) == []


@pytest.mark.parametrize("name", ["Models", "models.prod", "m" * 64])
def test_namespace_name_must_be_dns_label(name: str) -> None:
    (error,) = validate_object(namespace(name))
    assert error.startswith(f"Namespace/{name}: $.metadata.name: ")


# --- other CRDs --------------------------------------------------------------


@pytest.mark.parametrize("version", BOTH)
def test_cluster_serving_runtime(version: str) -> None:
    assert validate_object(cluster_serving_runtime(), version) == []
    bad = cluster_serving_runtime()
    bad["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    bad["spec"]["multiModel"] = "no"
    errors = validate_object(bad, version)
    assert any("$.spec.containers[0].imagePullPolicyy: unknown field" in e for e in errors)
    assert any("$.spec.multiModel: 'no' is not of type 'boolean'" in e for e in errors)


def test_cluster_serving_runtime_worker_spec_is_v0_20_only() -> None:
    obj = cluster_serving_runtime()
    obj["spec"]["workerSpec"] = {"containers": [{"name": "worker-container", "image": "x"}]}
    assert validate_object(obj, "v0.20.0") == []
    assert validate_object(obj, "v0.13.0") == ["ClusterServingRuntime/vllm-cpu: $.spec.workerSpec: unknown field"]


def test_service_monitor() -> None:
    assert validate_object(service_monitor()) == []
    bad = service_monitor()
    bad["spec"]["endpoints"][0]["interval"] = "30 seconds"
    (error,) = validate_object(bad)
    assert "$.spec.endpoints[0].interval: '30 seconds' does not match pattern" in error


def test_go_only_regex_syntax_is_translated() -> None:
    # Prometheus Operator's pattern ^(?i)(abort|warn)?$ is RE2-only syntax.
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "llama-alerts"},
        "spec": {"groups": [{"name": "g", "partial_response_strategy": "WARN",
                             "rules": [{"alert": "Down", "expr": "up == 0", "for": "5m"}]}]},
    }
    assert validate_object(rule) == []
    rule["spec"]["groups"][0]["partial_response_strategy"] = "maybe"
    assert len(validate_object(rule)) == 1


# --- built-in kinds ------------------------------------------------------------


def test_builtin_kinds_are_valid() -> None:
    assert validate_objects([namespace(), pvc(), secret()], "v0.20.0") == []


def test_builtin_unknown_field_fails() -> None:
    obj = pvc()
    obj["spec"]["bogus"] = 1
    assert validate_object(obj) == ["PersistentVolumeClaim/model-cache: $.spec.bogus: unknown field"]


def test_builtin_wrong_type_fails() -> None:
    obj = pvc()
    obj["spec"]["accessModes"] = "ReadWriteOnce"
    (error,) = validate_object(obj)
    assert error.startswith("PersistentVolumeClaim/model-cache: $.spec.accessModes: ")


def test_secret_data_must_be_base64() -> None:
    obj = secret()
    obj["data"] = {"ok": "aGVsbG8=", "plain": "hello world"}
    assert validate_object(obj) == [
        "Secret/hf-token: $.data.plain: value must be base64-encoded (use stringData for plain text)"
    ]


def test_unknown_kinds_never_pass() -> None:
    assert validate_object({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}) == [
        "Widget/w: $: no schema for example.com/v1 Widget (Kubernetes 1.34.0)"
    ]
    assert validate_object({"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "w"}})[0].startswith(
        "Widget/w: $: no schema for v1 Widget"
    )
    # Not vendored on purpose, and absent from v0.13.
    llm = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LLMInferenceService", "metadata": {"name": "x"}}
    assert "no schema for serving.kserve.io/v1alpha1 LLMInferenceService" in validate_object(llm)[0]
    cache = {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelCache", "metadata": {"name": "x"},
             "spec": {"sourceModelUri": "hf://x/y", "modelSize": "1Gi", "nodeGroups": ["cpu"]}}
    assert validate_object(cache, "v0.20.0") == []
    assert "no schema for" in validate_object(cache, "v0.13.0")[0]
    assert validate_object({"kind": "Namespace"}) == [
        "Namespace/<no name>: $: apiVersion and kind must be non-empty strings"
    ]


def test_validate_objects_reports_duplicates() -> None:
    errors = validate_objects([namespace(), namespace()], "v0.20.0")
    assert errors == ["Namespace/models: $: duplicate object (same group, kind and name)"]


# --- directory and CLI -------------------------------------------------------------

TWO_DOCS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: models
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: llama
  namespace: models
spec:
  predictor:
    storageUris:
      - uri: hf://meta-llama/Llama-3-8B
        mountPath: /mnt/models
    model:
      modelFormat: {name: vllm}
      runtime: vllm-cpu
---
"""


def test_validate_directory_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "1-manifest").mkdir()
    (tmp_path / "1-manifest" / "objects.yaml").write_text(TWO_DOCS)
    assert validate_directory(tmp_path) == []  # no stack.yaml: v0.20.0
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "validated 2 objects: 0 errors"

    # storageUris does not exist in v0.13: chosen by flag or by stack.yaml.
    expected = "1-manifest/objects.yaml: InferenceService/llama: $.spec.predictor.storageUris: unknown field"
    assert validate_directory(tmp_path, "v0.13.0") == [expected]
    assert main([str(tmp_path), "--kserve-version", "v0.13.0"]) == 1
    assert capsys.readouterr().out.splitlines() == [expected, "validated 2 objects: 1 errors"]
    (tmp_path / "stack.yaml").write_text("kserveVersion: v0.13.1\n")
    assert validate_directory(tmp_path) == [expected]
    assert validate_directory(tmp_path, "v0.20.0") == []


def test_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing")]) == 2
    (tmp_path / "broken.yaml").write_text("kind: [unclosed\n")
    (tmp_path / "notk8s.yaml").write_text("just: data\n")
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("broken.yaml: cannot parse YAML")
    assert out[1] == "notk8s.yaml: <no kind>/<no name>: $: apiVersion and kind must be non-empty strings"
    assert out[-1] == "validated 1 objects: 2 errors"


def test_module_entry_point_and_no_pulumi(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: Bad_Name}\n")
    run = subprocess.run(
        [sys.executable, "-m", "offline.validation", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    assert run.returncode == 1, run.stderr
    assert run.stdout.splitlines()[-1] == "validated 1 objects: 1 errors"
    probe = "import sys, offline.validation; print(any(m.split('.')[0] == 'pulumi' for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


# --- vendored schemas ---------------------------------------------------------------


def test_vendored_files_match_sources_md() -> None:
    rows = re.findall(r"^\| (\S+\.yaml) \| ([0-9a-f]{64}) \|", (SCHEMA_DIR / "SOURCES.md").read_text(), re.M)
    listed = {name: digest for name, digest in rows}
    vendored = {p.relative_to(SCHEMA_DIR).as_posix() for p in SCHEMA_DIR.rglob("*.yaml")}
    assert set(listed) == vendored
    for name, digest in listed.items():
        assert hashlib.sha256((SCHEMA_DIR / name).read_bytes()).hexdigest() == digest, name


def test_every_vendored_crd_version_compiles() -> None:
    # Builds (and caches) every validator: catches Go-only regexes after a refresh.
    count = 0
    for path in sorted(SCHEMA_DIR.rglob("*.yaml")):
        for index, crd in enumerate(validation._load_crds(path)):
            for version in crd["spec"]["versions"]:
                validator = validation._crd_validator(path, index, version["name"])
                assert validator.schema["properties"]["metadata"]["additionalProperties"] is False
                count += 1
    assert count >= 25


def test_kinds_without_a_vendored_crd_are_reported_not_passed_silently() -> None:
    from offline.validation import not_schema_checked

    serving = {
        "apiVersion": "operator.knative.dev/v1beta1",
        "kind": "KnativeServing",
        "metadata": {"name": "knative-serving", "namespace": "knative-serving"},
        "spec": {"version": "1.21.1"},
    }
    assert not_schema_checked(serving)
    assert validate_object(serving) == []
    bad = {**serving, "metadata": {"name": "Knative_Serving", "namespace": "knative-serving"}}
    assert validate_object(bad)  # metadata is still checked
    other = {**serving, "apiVersion": "operator.knative.dev/v1beta1", "kind": "KnativeEventing"}
    assert not not_schema_checked(other)
    assert any("no schema for" in e for e in validate_object(other))


def test_serverless_render_validates_with_the_unchecked_kind_named(tmp_path, capsys) -> None:
    from offline.validation import validate_directory
    from offline.render import render

    out = render("xeon", {"kserve.deploymentMode": "Serverless"}, tmp_path / "sv")
    assert validate_directory(out) == []
    assert "KnativeServing/knative-serving: spec not schema-checked" in capsys.readouterr().err
