"""Strict, offline validation of the Kubernetes objects we emit.

Why: a typo in a CRD field is silently pruned by the API server (or rejected
only at `pulumi up`), so every object is checked before it reaches a cluster:

* custom resources against the upstream CRDs vendored in ``schemas/crds``
  (see ``schemas/crds/SOURCES.md``), converted so that unknown fields fail;
* built-in kinds against the strict schemas shipped in ``kubernetes-validate``;
* ``metadata`` of every object against the API server's syntax rules
  (names, namespaces, label and annotation keys and values).

Not checked: CEL rules (``x-kubernetes-validations``) and admission webhooks
(KServe's own defaulting/validation), which need a cluster.

Used by tests and by ``make validate``
(``python -m offline.validation DIR [--kserve-version V]``).
This module must not import Pulumi.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import difflib
import functools
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils as _kv_utils
import yaml

from kserve_intel.k8s_names import dns1035_label as _dns1035_label
from kserve_intel.k8s_names import dns1123_label as _dns1123_label
from kserve_intel.k8s_names import dns1123_subdomain as _dns1123_subdomain
from kserve_intel.k8s_names import label_value as _label_value
from kserve_intel.k8s_names import qualified_name as _qualified_name
from kserve_intel.catalog.kserve import KServeRelease, normalize_tag

SCHEMA_DIR: Path = Path(__file__).resolve().parent.parent / "schemas" / "crds"
DEFAULT_KSERVE_VERSION = "v0.20.0"
# A Kubernetes minor that kubernetes-validate 1.37.0 ships and that current
# managed clusters run; newer clusters still accept objects valid for 1.34.
DEFAULT_KUBERNETES_VERSION = "1.34.0"
KSERVE_GROUP = "serving.kserve.io"
STACK_FILE = "stack.yaml"
# Files the offline render writes beside the objects: not Kubernetes objects.
META_FILES = (STACK_FILE, "helm-releases.yaml")

# Kinds the program emits whose CRDs are not among the upstream copies we
# vendor (schemas/crds/SOURCES.md). Their metadata is still checked; their
# spec is reported as not schema-checked, never as valid. Any other kind
# without a schema is an error.
WITHOUT_VENDORED_SCHEMA: dict[tuple[str, str], str] = {
    ("operator.knative.dev", "KnativeServing"): "Knative Operator CRD",
}

_Problem = tuple[tuple[Any, ...], str]  # (path inside the object, message)

# --------------------------------------------------------------------------
# KServe version -> vendored schema folder
# --------------------------------------------------------------------------

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")


def kserve_schema_version(kserve_version: str) -> str:
    """Vendored KServe CRD folder for a KServe release (rule in `kserve_intel/catalog/kserve.py`)."""
    try:
        return KServeRelease(normalize_tag(kserve_version)).schema_tag
    except ValueError:
        raise ValueError(f"not a KServe version: {kserve_version!r}") from None


# --------------------------------------------------------------------------
# YAML loading
# --------------------------------------------------------------------------

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ManifestLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that keeps unquoted dates as strings, as the API server's YAML decoder does."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }


@functools.lru_cache(maxsize=None)
def _load_crds(path: Path) -> tuple[dict[str, Any], ...]:
    """CustomResourceDefinitions in one vendored file (parsed once: some are MBs)."""
    with path.open("rb") as handle:
        docs = list(yaml.load_all(handle, Loader=_BaseLoader))
    return tuple(d for d in docs if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition")


# --------------------------------------------------------------------------
# CRD lookup
# --------------------------------------------------------------------------


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _candidate_files(group: str, kind: str, schema_folder: str) -> list[Path]:
    """Vendored files that may define a kind, likeliest first (avoids parsing 2 MB files needlessly)."""
    if group == KSERVE_GROUP:
        files = list((SCHEMA_DIR / "kserve" / schema_folder).glob("*.yaml"))
    else:
        files = [p for p in SCHEMA_DIR.rglob("*.yaml") if p.relative_to(SCHEMA_DIR).parts[0] != "kserve"]
    plural_guess = f"{group}_{kind.lower()}"

    def rank(path: Path) -> tuple[int, str]:
        if path.name.startswith(plural_guess):
            return (0, path.name)
        return (1 if path.name.startswith(group + "_") else 2, path.name)

    return sorted(files, key=rank)


@functools.lru_cache(maxsize=None)
def _locate_crd(group: str, version: str, kind: str, schema_folder: str) -> tuple[Path, int] | None:
    """(file, document index) of the CRD serving group/version/kind, or None."""
    for path in _candidate_files(group, kind, schema_folder):
        for index, crd in enumerate(_load_crds(path)):
            spec = crd.get("spec") or {}
            if spec.get("group") != group or (spec.get("names") or {}).get("kind") != kind:
                continue
            if any(v.get("name") == version and v.get("served", True) for v in spec.get("versions") or []):
                return path, index
    return None


# --------------------------------------------------------------------------
# openAPIV3Schema -> strict JSON Schema
# --------------------------------------------------------------------------

# ObjectMeta as the API server reads it for any object; CRD schemas only say
# `metadata: {type: object}`, so this replaces it (unknown keys rejected).
_OBJECT_META_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": ["string", "null"]},
        "generateName": {"type": ["string", "null"]},
        "namespace": {"type": ["string", "null"]},
        "labels": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
        "annotations": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
        "finalizers": {"type": ["array", "null"], "items": {"type": "string"}},
        "ownerReferences": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["apiVersion", "kind", "name", "uid"],
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "name": {"type": "string"},
                    "uid": {"type": "string"},
                    "controller": {"type": ["boolean", "null"]},
                    "blockOwnerDeletion": {"type": ["boolean", "null"]},
                },
            },
        },
        "managedFields": {"type": ["array", "null"], "items": {"type": "object"}},
        "uid": {"type": ["string", "null"]},
        "resourceVersion": {"type": ["string", "null"]},
        "generation": {"type": ["integer", "null"]},
        "selfLink": {"type": ["string", "null"]},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": ["string", "null"]},
        "deletionGracePeriodSeconds": {"type": ["integer", "null"]},
    },
}

_INLINE_FLAGS = re.compile(r"\(\?([imsU]+)\)")


def _python_pattern(pattern: str) -> str:
    """Translate Go RE2 syntax Python's `re` rejects (mid-pattern `(?i)`, `\\z`).

    Prometheus Operator uses `^(?i)(abort|warn)?$`; RE2 applies such flags to
    the rest of the enclosing group, which `(?i:...)` expresses in Python.
    """
    pattern = re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", pattern)
    while True:
        match = next((m for m in _INLINE_FLAGS.finditer(pattern) if m.start() > 0), None)
        if match is None or "U" in match.group(1):
            break
        end = _group_end(pattern, match.end())
        pattern = pattern[: match.start()] + f"(?{match.group(1)}:" + pattern[match.end():end] + ")" + pattern[end:]
    re.compile(pattern)  # fail at schema build time, not mid-validation
    return pattern


def _group_end(pattern: str, start: int) -> int:
    """Index of the `)` closing the group that contains position `start` (or len)."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return len(pattern)


def _strict_schema(node: Any, in_junctor: bool = False) -> Any:
    """Copy of a structural schema node in which unknown fields are errors.

    The API server prunes (or, with strict field validation, rejects) fields a
    structural schema does not declare, so every `type: object` node without
    `additionalProperties` or `x-kubernetes-preserve-unknown-fields` gets
    `additionalProperties: false`, including property-less ones (their content
    would be dropped). Branches of anyOf/allOf/oneOf/not are left open: in
    structural schemas they restate only part of their parent's properties.
    """
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties") and isinstance(value, dict):
            out[key] = {name: _strict_schema(sub, in_junctor) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _strict_schema(value)
        elif key == "items" and isinstance(value, list):
            out[key] = [_strict_schema(sub) for sub in value]
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_strict_schema(sub, True) for sub in value]
        elif key == "not" and isinstance(value, dict):
            out[key] = _strict_schema(value, True)
        elif key == "pattern" and isinstance(value, str):
            out[key] = _python_pattern(value)
        elif key in ("description", "example", "nullable"):
            continue  # docs only / handled below
        else:
            out[key] = value

    if node.get("x-kubernetes-int-or-string") and not any(k in out for k in ("anyOf", "oneOf")):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    if (
        out.get("type") == "object"
        and not in_junctor
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if node.get("x-kubernetes-list-type") == "set":
        out["uniqueItems"] = True
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        elif "type" not in out:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def _list_map_keys(
    validator: Any, keys: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    """`x-kubernetes-list-type: map`: the API server rejects two items with the same keys."""
    if schema.get("x-kubernetes-list-type") != "map" or not validator.is_type(instance, "array"):
        return
    item_props = (schema.get("items") or {}).get("properties") or {}
    seen: dict[str, int] = {}
    for index, item in enumerate(instance):
        if not isinstance(item, dict):
            continue
        values = {k: item.get(k, (item_props.get(k) or {}).get("default")) for k in keys}
        fingerprint = json.dumps(values, sort_keys=True, default=str)
        if fingerprint in seen:
            yield jsonschema.ValidationError(
                f"duplicate entry {values} (same keys as item [{seen[fingerprint]}])", path=(index,)
            )
        else:
            seen[fingerprint] = index


def _is_base64(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the type keyword reports it
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


_FORMATS = jsonschema.FormatChecker(formats=())
_FORMATS.checks("byte")(_is_base64)  # the only string format the API server checks that we emit

_StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    validators={"x-kubernetes-list-map-keys": _list_map_keys},
)


@functools.lru_cache(maxsize=None)
def _crd_validator(path: Path, index: int, version: str) -> Any:
    """Compiled validator for one CRD version (cached: the InferenceService CRD is ~2 MB)."""
    crd = _load_crds(path)[index]
    served = next(v for v in crd["spec"]["versions"] if v.get("name") == version)
    raw = ((served.get("schema") or {}).get("openAPIV3Schema")) or {"type": "object"}
    schema = _strict_schema(raw)
    schema.setdefault("properties", {})["metadata"] = _OBJECT_META_SCHEMA
    return _StrictValidator(schema, format_checker=_FORMATS)


# --------------------------------------------------------------------------
# Error rendering
# --------------------------------------------------------------------------

# resource.Quantity's pattern as controller-gen writes it into CRDs.
_QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _json_path(path: Iterable[Any]) -> str:
    """`$.spec.containers[0].env`, quoting keys such as label names."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: jsonschema.ValidationError) -> list[_Problem]:
    """Readable problems for one jsonschema error (one per unknown field)."""
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = list(schema.get("properties") or {})
        patterns = list(schema.get("patternProperties") or {})
        problems: list[_Problem] = []
        for field in error.instance:
            if field in known or any(re.search(p, str(field)) for p in patterns):
                continue
            hint = difflib.get_close_matches(str(field), known, n=1)
            suffix = f' (did you mean "{hint[0]}"?)' if hint else ""
            problems.append(((*path, field), f"unknown field{suffix}"))
        if problems:
            return problems
    if error.validator == "anyOf" and error.validator_value == [{"type": "integer"}, {"type": "string"}]:
        return [(path, _short(f"must be an integer or a string, got {error.instance!r}"))]
    if error.validator == "pattern":
        if error.validator_value == _QUANTITY_PATTERN:
            return [(path, _short(f"{error.instance!r} is not a Kubernetes quantity (e.g. 500m, 4, 16Gi)"))]
        return [(path, _short(f"{error.instance!r} does not match pattern {error.validator_value}"))]
    if error.validator == "format" and error.validator_value == "byte":
        return [(path, "must be base64-encoded (format: byte)")]
    message = error.message
    if error.context:
        message += f" ({jsonschema.exceptions.best_match(error.context).message})"
    return [(path, _short(message))]


# --------------------------------------------------------------------------
# Schema validation
# --------------------------------------------------------------------------


def _custom_resource_problems(obj: Mapping[str, Any], kserve_version: str) -> list[_Problem] | None:
    """Problems against the vendored CRD, or None when no CRD defines the kind."""
    group, version = _split_api_version(obj["apiVersion"])
    if not group:
        return None
    located = _locate_crd(group, version, obj["kind"], kserve_schema_version(kserve_version))
    if located is None:
        return None
    validator = _crd_validator(located[0], located[1], version)
    problems: list[_Problem] = []
    for error in validator.iter_errors(obj):
        problems.extend(_describe(error))
    return problems


def _builtin_problems(obj: Mapping[str, Any], kserve_version: str, kubernetes_version: str) -> list[_Problem]:
    """Problems against kubernetes-validate's strict schema (it reports the first error only)."""
    try:
        kubernetes_validate.validate(dict(obj), kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return _describe(error)
    except kubernetes_validate.SchemaNotFoundError:
        where = f"Kubernetes {kubernetes_version}"
        if _split_api_version(obj["apiVersion"])[0] == KSERVE_GROUP:
            where = f"KServe schemas {kserve_schema_version(kserve_version)}"
        return [((), f"no schema for {obj['apiVersion']} {obj['kind']} ({where})")]
    except kubernetes_validate.InvalidSchemaError as error:
        return [((), f"unusable schema: {error.message}")]
    return []


@functools.lru_cache(maxsize=None)
def _check_kubernetes_version(kubernetes_version: str) -> None:
    """Fail fast on a Kubernetes version kubernetes-validate has no schemas for."""
    shipped = _kv_utils.all_versions()
    match = _VERSION.match(kubernetes_version.strip())
    minors = {tuple(int(n) for n in v.split(".")[:2]) for v in shipped}
    if not match or (int(match.group(1)), int(match.group(2))) not in minors:
        raise ValueError(
            f"kubernetes-validate {kubernetes_validate.__version__} has no schemas for Kubernetes "
            f"{kubernetes_version!r} (it ships {', '.join(shipped)})"
        )


# --------------------------------------------------------------------------
# metadata and data syntax (what the API server checks beyond the schema)
# --------------------------------------------------------------------------

_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_ANNOTATIONS_MAX_BYTES = 256 * 1024


def _isvc_name(name: str) -> str | None:
    # KServe's webhook: IsvcNameFmt = "[a-z]([-a-z0-9]*[a-z0-9])?" (no dots, starts with a letter).
    if not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name):
        return "must match [a-z]([-a-z0-9]*[a-z0-9])? (KServe InferenceService name rule)"
    return _dns1123_subdomain(name)


def _path_segment(name: str) -> str | None:
    if name in (".", "..") or "/" in name or "%" in name:
        return "must not be '.' or '..' and must not contain '/' or '%'"
    return None


# (group, kind) -> name rule; everything else must be a DNS-1123 subdomain.
_NAME_RULES: dict[tuple[str, str], Any] = {
    ("", "Namespace"): _dns1123_label,
    ("", "Service"): _dns1035_label,
    (KSERVE_GROUP, "InferenceService"): _isvc_name,
    **{
        ("rbac.authorization.k8s.io", kind): _path_segment
        for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
    },
}


def _metadata_problems(obj: Mapping[str, Any]) -> list[_Problem]:
    """Name, namespace, label and annotation syntax the API server enforces on every object."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return [(("metadata",), "is required (with name or generateName)")] if meta is None else []
    problems: list[_Problem] = []
    name = meta.get("name")
    group = _split_api_version(obj["apiVersion"])[0]
    if name is None or name == "":
        if not meta.get("generateName"):
            problems.append((("metadata", "name"), "is required (or generateName)"))
    elif isinstance(name, str):
        rule = _NAME_RULES.get((group, obj["kind"]), _dns1123_subdomain)
        problem = rule(name)
        if problem:
            problems.append((("metadata", "name"), f"{name!r} {problem}"))
    namespace = meta.get("namespace")
    if isinstance(namespace, str) and namespace:
        problem = _dns1123_label(namespace)
        if problem:
            problems.append((("metadata", "namespace"), f"{namespace!r} {problem}"))
    labels = meta.get("labels")
    if isinstance(labels, Mapping):
        for key, value in labels.items():
            problem = _qualified_name(str(key))
            if problem:
                problems.append((("metadata", "labels", key), f"invalid label key: {problem}"))
            if isinstance(value, str):
                problem = _label_value(value)
                if problem:
                    shown = _short(repr(value), 80)
                    problems.append((("metadata", "labels", key), f"invalid label value {shown}: {problem}"))
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping):
        for key in annotations:
            problem = _qualified_name(str(key).lower())
            if problem:
                problems.append((("metadata", "annotations", key), f"invalid annotation key: {problem}"))
        size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
        if size > _ANNOTATIONS_MAX_BYTES:
            problems.append((("metadata", "annotations"), f"total size {size} exceeds {_ANNOTATIONS_MAX_BYTES}"))
    return problems


def _data_problems(obj: Mapping[str, Any]) -> list[_Problem]:
    """Secret/ConfigMap keys and base64 payloads, checked by the API server, not by the schema."""
    if obj["apiVersion"] != "v1" or obj["kind"] not in ("Secret", "ConfigMap"):
        return []
    encoded = "data" if obj["kind"] == "Secret" else "binaryData"
    problems: list[_Problem] = []
    for field in ("data", "stringData", "binaryData"):
        entries = obj.get(field)
        if not isinstance(entries, Mapping):
            continue
        for key, value in entries.items():
            if len(str(key)) > 253 or not _CONFIG_KEY.match(str(key)) or key in (".", ".."):
                problems.append(((field, key), "invalid key: must be alphanumerics, '-', '_' or '.' (at most 253)"))
            if field == encoded and not _is_base64(value):
                problems.append(((field, key), "value must be base64-encoded (use stringData for plain text)"))
    return problems


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def _label(obj: Any) -> str:
    if not isinstance(obj, Mapping):
        return "<not an object>"
    kind = obj.get("kind") or "<no kind>"
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    name = meta.get("name") or (f"{meta['generateName']}*" if meta.get("generateName") else "<no name>")
    return f"{kind}/{name}"


def validate_object(
    obj: dict[str, Any],
    kserve_version: str = DEFAULT_KSERVE_VERSION,
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
) -> list[str]:
    """Every problem in one object, as `<kind>/<name>: <json path>: <message>` (empty = valid).

    Custom resources are checked against the vendored CRDs (KServe ones in the
    folder `kserve_schema_version(kserve_version)`), built-in kinds with
    kubernetes-validate for `kubernetes_version`; a kind with neither is an
    error, never a silent pass.
    """
    kserve_schema_version(kserve_version)  # bad versions fail even for core-only input
    _check_kubernetes_version(kubernetes_version)
    label = _label(obj)
    if not isinstance(obj, Mapping):
        return [f"{label}: $: expected a mapping, got {type(obj).__name__}"]
    if not all(isinstance(obj.get(k), str) and obj.get(k) for k in ("apiVersion", "kind")):
        return [f"{label}: $: apiVersion and kind must be non-empty strings"]
    problems = _custom_resource_problems(obj, kserve_version)
    if problems is None and not_schema_checked(obj):
        problems = []
    elif problems is None:
        problems = _builtin_problems(obj, kserve_version, kubernetes_version)
    problems += _metadata_problems(obj) + _data_problems(obj)
    seen: set[str] = set()
    rendered: list[str] = []
    for path, message in problems:
        line = f"{label}: {_json_path(path)}: {message}"
        if line not in seen:
            seen.add(line)
            rendered.append(line)
    return rendered


def _identity(obj: Any) -> tuple[str, str, str, str] | None:
    if not isinstance(obj, Mapping) or not isinstance(obj.get("metadata"), Mapping):
        return None
    name = obj["metadata"].get("name")
    if not name or not isinstance(obj.get("apiVersion"), str):
        return None
    group = _split_api_version(obj["apiVersion"])[0]
    return (group, str(obj.get("kind")), str(obj["metadata"].get("namespace") or ""), str(name))


def _expand_lists(objs: Iterable[Any]) -> Iterator[Any]:
    """Yield the items of `kind: List` documents (kubectl's List) in place of the List."""
    for obj in objs:
        if isinstance(obj, Mapping) and obj.get("apiVersion") == "v1" and obj.get("kind") == "List":
            yield from _expand_lists(obj.get("items") or [])
        else:
            yield obj


def not_schema_checked(obj: Mapping[str, Any]) -> bool:
    """True for a kind in WITHOUT_VENDORED_SCHEMA (only its metadata is checked)."""
    group = _split_api_version(str(obj.get("apiVersion", "")))[0]
    return (group, obj.get("kind")) in WITHOUT_VENDORED_SCHEMA


def validate_objects(
    objs: Iterable[dict[str, Any]],
    kserve_version: str,
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
) -> list[str]:
    """Problems of all objects, plus duplicates (same group, kind, namespace and name)."""
    errors: list[str] = []
    seen: set[tuple[str, str, str, str]] = set()
    for obj in _expand_lists(objs):
        errors.extend(validate_object(obj, kserve_version, kubernetes_version))
        identity = _identity(obj)
        if identity is not None:
            if identity in seen:
                where = f" in namespace {identity[2]}" if identity[2] else ""
                errors.append(f"{_label(obj)}: $: duplicate object (same group, kind and name{where})")
            seen.add(identity)
    return errors


def _yaml_files(directory: Path) -> list[Path]:
    files = [p for p in directory.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml")]
    return sorted(p for p in files if p.relative_to(directory).as_posix() not in META_FILES)


def _stack_kserve_version(directory: Path) -> str:
    """`kserveVersion` from `<dir>/stack.yaml`, else the default."""
    stack = directory / STACK_FILE
    if stack.is_file():
        data = yaml.load(stack.read_text(encoding="utf-8"), Loader=_ManifestLoader)
        if isinstance(data, Mapping) and data.get("kserveVersion"):
            return str(data["kserveVersion"])
    return DEFAULT_KSERVE_VERSION


def _validate_directory(
    directory: Path, kserve_version: str, kubernetes_version: str
) -> tuple[int, list[str]]:
    """(number of objects, errors) for every YAML document under `directory`."""
    count, errors = 0, []
    seen: dict[tuple[str, str, str, str], str] = {}
    for path in _yaml_files(directory):
        rel = path.relative_to(directory).as_posix()
        try:
            docs = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_ManifestLoader))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            errors.append(f"{rel}: cannot parse YAML: {_short(str(error).replace(chr(10), ' '))}")
            continue
        for obj in _expand_lists(d for d in docs if d is not None):
            count += 1
            errors.extend(f"{rel}: {e}" for e in validate_object(obj, kserve_version, kubernetes_version))
            if isinstance(obj, Mapping) and not_schema_checked(obj):
                print(f"{rel}: {_label(obj)}: spec not schema-checked (no vendored upstream CRD)", file=sys.stderr)
            identity = _identity(obj)
            if identity is not None:
                if identity in seen:
                    errors.append(f"{rel}: {_label(obj)}: $: duplicate object (also in {seen[identity]})")
                else:
                    seen[identity] = rel
    return count, errors


def validate_directory(
    path: str | Path,
    kserve_version: str | None = None,
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
) -> list[str]:
    """Problems in every `*.yaml`/`*.yml` document under `path` (recursively), each prefixed by its file.

    `<path>/stack.yaml` is not validated: its `kserveVersion` key picks the
    KServe schemas when `kserve_version` is None.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise NotADirectoryError(f"not a directory: {directory}")
    version = kserve_version or _stack_kserve_version(directory)
    return _validate_directory(directory, version, kubernetes_version)[1]


def main(argv: Sequence[str] | None = None) -> int:
    """CLI behind `make validate`: print each error, then a summary; exit 1 on errors, 2 on bad usage."""
    parser = argparse.ArgumentParser(
        prog="python -m offline.validation",
        description="Validate rendered Kubernetes YAML strictly against vendored CRDs and Kubernetes schemas.",
    )
    parser.add_argument("directory", type=Path, help="directory of rendered *.yaml (searched recursively)")
    parser.add_argument("--kserve-version", help="KServe release (default: stack.yaml kserveVersion, else v0.20.0)")
    parser.add_argument("--kubernetes-version", default=DEFAULT_KUBERNETES_VERSION, help="default: %(default)s")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        print(f"error: not a directory: {args.directory}", file=sys.stderr)
        return 2
    try:
        version = args.kserve_version or _stack_kserve_version(args.directory)
        kserve_schema_version(version)
        count, errors = _validate_directory(args.directory, version, args.kubernetes_version)
    except (ValueError, yaml.YAMLError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in errors:
        print(line)
    print(f"validated {count} objects: {len(errors)} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
