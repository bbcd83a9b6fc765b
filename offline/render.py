"""Write every object a stack would create as YAML, without a cluster.

    python -m offline.render --stack xeon [--set key=value ...] [--out DIR]

Runs the same `__main__.py` as `pulumi up` under Pulumi's in-process mocks and
writes every field it registered: one file per component under `build/<stack>/`,
Helm releases (chart, repository, version, values, timeout...) in `helm-releases.yaml`,
and the stack outputs in `stack.yaml`. Secrets are written as "[secret]".
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

import yaml

from .engine import PROJECT_ROOT, Evaluation, Registration, evaluate, manifest_fields, redact, stack_config

# A Helm release's inputs in the order a reader expects; the others follow in name order (`values` last).
_RELEASE_ORDER = ("name", "namespace", "chart", "repository", "version")
# Apply order, so a reader (and `kubectl apply -f`) meets prerequisites first.
_KIND_ORDER = ("Namespace", "ServiceAccount", "Secret", "ConfigMap", "NetworkPolicy", "PersistentVolumeClaim",
               "ClusterServingRuntime", "InferenceService", "Ingress", "ApisixRoute", "HTTPRoute")


def release_document(inputs: dict[str, Any]) -> dict[str, Any]:
    """Every input of a Helm release; `repositoryOpts: {repo}` is written as `repository`."""
    inputs = dict(inputs)
    options = dict(inputs.pop("repositoryOpts", None) or {})
    fields: dict[str, Any] = {"repository": options.pop("repo", None), **inputs}
    if options:
        fields["repositoryOpts"] = options  # anything besides the URL (credentials, CA) stays as registered
    values = _sorted_deep(fields.pop("values", None) or {})
    first = [k for k in _RELEASE_ORDER if k in fields]
    ordered = {k: fields[k] for k in [*first, *sorted(k for k in fields if k not in _RELEASE_ORDER)]}
    return {**ordered, "values": values}


def _sort_key(manifest: dict[str, Any]) -> tuple:
    kind = manifest["kind"]
    rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
    meta = manifest.get("metadata", {})
    return rank, kind, meta.get("namespace", ""), meta.get("name", "")


def _component_file(component: Registration) -> str:
    return f"{component.type.rsplit(':', 1)[-1]}-{component.name}.yaml"


def _dump_all(documents: list[Any]) -> str:
    return yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False, width=100)


def _sorted_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_deep(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_deep(v) for v in value]
    return value


def files_for(evaluation: Evaluation, stack: str) -> dict[str, str]:
    """File name -> YAML text, deterministic for a given evaluation."""
    components = {r.urn: r for r in evaluation.registrations if not r.custom}
    grouped: dict[str, list[dict[str, Any]]] = {}
    releases = []
    for registration in evaluation.registrations:
        if registration.type == "kubernetes:helm.sh/v3:Release":
            releases.append(release_document(redact(registration.inputs)))
            continue
        manifest = registration.manifest
        if manifest is None:
            continue
        parent = components.get(registration.parent)
        file_name = _component_file(parent) if parent else "stack.yaml"
        grouped.setdefault(file_name, []).append(manifest_fields(_sorted_deep(redact(manifest))))
    files = {name: _dump_all(sorted(docs, key=_sort_key)) for name, docs in sorted(grouped.items())}
    files["helm-releases.yaml"] = _dump_all(sorted(releases, key=lambda r: (r["namespace"], r["name"]))) if releases else ""
    files["stack.yaml"] = yaml.safe_dump(
        {"stack": stack, "kserveVersion": evaluation.outputs.get("kserveVersion"),
         "outputs": _sorted_deep(redact(evaluation.outputs)), "warnings": evaluation.warnings},
        sort_keys=False, width=100,
    )
    return files


def render(stack: str, overrides: dict[str, str] | None = None, out: Path | None = None) -> Path:
    config, secret_keys = stack_config(stack, overrides)
    evaluation = evaluate(config, secret_keys, stack=stack)
    target = out or PROJECT_ROOT / "build" / stack
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name, text in files_for(evaluation, stack).items():
        (target / name).write_text(text)
    return target


def _parse_set(values: Sequence[str]) -> dict[str, str]:
    overrides = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set expects key=value, got {item!r}")
        overrides[key] = value
    return overrides


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (JSON for objects), e.g. --set 'storage={\"size\":\"1Ti\"}'")
    parser.add_argument("--out", type=Path, help="output directory (default build/<stack>)")
    args = parser.parse_args(argv)
    import pulumi

    try:
        target = render(args.stack, _parse_set(args.set), args.out)
    except (pulumi.RunError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    written = sorted(p.name for p in target.iterdir())
    print(f"rendered stack {args.stack} to {target}: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
