"""Turn a manifest dict into the matching pulumi_kubernetes resource."""

from __future__ import annotations

from typing import Any

import json

import pulumi
import pulumi_kubernetes as k8s

from kserve_intel.builders.helm import HelmRelease
from kserve_intel.builders.images import needs_pull_secret, pull_secret
from kserve_intel.builders.ownership import adopted_name, helm_description, leftovers, stamp
from kserve_intel.plan import StackPlan
from kserve_intel.rules.images import docker_config

from .namespace_guard import NamespaceGuard

_TYPED = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}


def child_options(
    parent: pulumi.Resource,
    inherited: pulumi.ResourceOptions | None,
    *needs: pulumi.Resource,
    **options: Any,
) -> pulumi.ResourceOptions:
    """Options for a component's child: it waits for what the component waits for.

    Dependencies given to a component are passed on to each child explicitly,
    so creation order and reverse destroy order hold per object, not only via
    the parent link.
    """
    inherited_deps = list((inherited.depends_on if inherited else None) or [])
    return pulumi.ResourceOptions(parent=parent, depends_on=[*inherited_deps, *needs], **options)


def resource_name(manifest: dict[str, Any]) -> str:
    """Pulumi name: unique per stack even for same-named objects in two namespaces."""
    meta = manifest["metadata"]
    namespace = meta.get("namespace")
    kind = manifest["kind"].lower()
    return f"{kind}-{namespace}-{meta['name']}" if namespace else f"{kind}-{meta['name']}"


class _Ownership:
    """The stack's owner stamp and what it adopted, set once by `use_ownership` before any resource."""

    owner = ""
    adopted: frozenset[str] = frozenset()


def use_ownership(plan: StackPlan) -> None:
    """Every object `apply` and `helm_release` register from now on carries `plan.owner`'s stamp."""
    _Ownership.owner = plan.owner
    _Ownership.adopted = plan.adopted


def apply(manifest: dict[str, Any], opts: pulumi.ResourceOptions, **extra: Any) -> pulumi.CustomResource:
    """Register one object, stamped with the stack's owner; `extra` adds inputs the manifest cannot carry (secrets).

    An object the stack adopted (`adopt`) is never deleted (`retain_on_delete`). A Namespace is registered with
    `retain_on_delete` and a NamespaceGuard, which deletes it on destroy only when nothing else is left in it;
    the guard is what is returned, so that everything put into the namespace depends on it and goes first.
    """
    adopted = adopted_name(manifest) in _Ownership.adopted
    namespace = manifest["kind"] == "Namespace" and manifest["apiVersion"] == "v1"
    if adopted or namespace:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
    registered = _register(stamp(manifest, _Ownership.owner, adopted), opts, **extra)
    if not namespace or adopted:
        return registered
    name = manifest["metadata"]["name"]
    return NamespaceGuard(f"namespace-guard-{name}", name, _Ownership.owner, leftovers(manifest),
                          opts=pulumi.ResourceOptions(parent=opts.parent, depends_on=[registered]))


def _register(manifest: dict[str, Any], opts: pulumi.ResourceOptions, **extra: Any) -> pulumi.CustomResource:
    key = (manifest["apiVersion"], manifest["kind"])
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    name = resource_name(manifest)
    if key == ("v1", "Secret"):
        return k8s.core.v1.Secret(name, **_snake(body), **extra, opts=opts)
    if key in _TYPED:
        return _TYPED[key](name, **_snake(body), **extra, opts=opts)
    return k8s.apiextensions.CustomResource(
        name, api_version=manifest["apiVersion"], kind=manifest["kind"], opts=opts, **body, **extra
    )


def _snake(body: dict[str, Any]) -> dict[str, Any]:
    """Top-level manifest keys as SDK argument names (stringData -> string_data)."""
    out = {}
    for key, value in body.items():
        out["".join("_" + c.lower() if c.isupper() else c for c in key)] = value
    return out


def helm_release(spec: HelmRelease, opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    """A real Helm release (hooks, `helm ls`, lookup) awaited until its workloads are ready."""
    return k8s.helm.v3.Release(
        f"helm-{spec.name}",
        name=spec.name,
        chart=spec.chart,
        version=spec.version,
        namespace=spec.namespace,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=spec.repository) if spec.repository else None,
        values=spec.values,
        create_namespace=False,
        cleanup_on_fail=True,
        # The owner stamp of a release (Helm stores the description with each revision).
        description=helm_description(_Ownership.owner),
        timeout=spec.timeout_minutes * 60,
        opts=opts,
    )


def image_pull_secret(plan: StackPlan, namespace: str, opts: pulumi.ResourceOptions) -> pulumi.Resource | None:
    """`images.credentials` as the namespace's pull Secret (a Pulumi secret), or None without credentials."""
    if not needs_pull_secret(plan):
        return None
    data = json.dumps(docker_config(plan.config.images), sort_keys=True)
    return apply(pull_secret(plan, namespace), opts, string_data={".dockerconfigjson": pulumi.Output.secret(data)})
