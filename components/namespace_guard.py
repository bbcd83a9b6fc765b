"""NamespaceGuard: on `destroy`, a namespace this stack created goes only if nothing else is left in it.

Every Namespace the stack creates is registered with `retain_on_delete` (the provider would delete it by name,
with whatever it holds) and followed by this guard; everything the stack puts into the namespace depends on the
guard, so `destroy` removes those first. The guard's delete then looks at the namespace: when only Kubernetes'
defaults (and what this stack's own installations leave behind) remain, it deletes the namespace and waits for it
to go; otherwise it keeps it and prints one line saying what it holds (shown in the `destroy` output, as the
provider's messages are). A namespace stamped by another stack, or adopted, is never deleted.

A Pulumi dynamic resource: its provider runs in a process of its own (the program's venv and directory) at
`destroy`, when the program does not run; it reaches the cluster with the kubeconfig/context of the stack's
`kubernetes:*` config, kept in the state as a secret, or the environment's $KUBECONFIG.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Iterable

import pulumi
import pulumi.dynamic as dynamic
from kubernetes.client.exceptions import ApiException

from kserve_intel import naming
from kserve_intel.online.cluster import Cluster, ClusterUnreachable, connect

# How long the guard waits for a namespace it deleted to be gone (the namespace controller empties it first).
DELETE_WAIT_SECONDS = 300
_INPUTS = ("namespace", "owner", "leftovers", "kubeconfig", "context", "cluster")


def delete_if_empty(cluster: Cluster, namespace: str, owner: str, leftovers: Iterable[str] = (),
                    wait_seconds: float = DELETE_WAIT_SECONDS) -> str:
    """Delete `namespace` when it is this stack's and holds nothing but `leftovers` (`Kind/name` its own
    installations leave); return the line that says what happened."""
    obj = cluster.get(f"/api/v1/namespaces/{namespace}")
    if obj is None:
        return f"namespace {namespace}: already gone"
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    stamp = annotations.get(naming.OWNER_ANNOTATION)
    if stamp != owner:
        return f"namespace {namespace} kept: it is not this stack's (owner stamp {stamp or 'none'})"
    if annotations.get(naming.ADOPTED_ANNOTATION) == "true":
        return f"namespace {namespace} kept: this stack adopted it (adopt), it did not create it"
    left = set(leftovers)
    contents = [c for c in cluster.namespace_contents(namespace) if c not in left]
    if contents:
        shown = ", ".join(contents[:8]) + (f" and {len(contents) - 8} more" if len(contents) > 8 else "")
        return (f"namespace {namespace} kept: it holds {shown}, which this stack did not delete; "
                f"`kubectl delete namespace {namespace}` removes it once nothing in it is needed")
    try:
        cluster.api.call_api(f"/api/v1/namespaces/{namespace}", "DELETE", header_params={"Accept": "application/json"},
                             auth_settings=["BearerToken"], response_type="object", _request_timeout=cluster.timeout)
    except ApiException as error:
        if error.status == 404:
            return f"namespace {namespace}: already gone"
        return f"namespace {namespace} kept: deleting it failed (HTTP {error.status} {error.reason})"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if cluster.get(f"/api/v1/namespaces/{namespace}") is None:
            return f"namespace {namespace} deleted (this stack created it and it was empty)"
        time.sleep(1)
    return f"namespace {namespace} deleted; still terminating after {wait_seconds:.0f} s"


class _GuardProvider(dynamic.ResourceProvider):
    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        return dynamic.CreateResult(id_=props["namespace"], outs={k: props.get(k) for k in _INPUTS})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changed = [k for k in _INPUTS if olds.get(k) != news.get(k)]
        return dynamic.DiffResult(changes=bool(changed), replaces=["namespace"] if "namespace" in changed else [],
                                  delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        return dynamic.UpdateResult(outs={k: news.get(k) for k in _INPUTS})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        namespace = props["namespace"]
        try:
            with connect(props.get("kubeconfig") or None, props.get("context") or None,
                         props.get("cluster") or None) as cluster:
                line = delete_if_empty(cluster, namespace, props["owner"], props.get("leftovers") or ())
        except ClusterUnreachable as error:
            line = f"namespace {namespace} kept: cannot reach the cluster to see what it holds ({error})"
        # A provider's stderr reaches the CLI's output as a message of its own.
        print(f"kserve-intel: {line}", file=sys.stderr, flush=True)


class NamespaceGuard(dynamic.Resource):
    """Deletes its namespace on destroy when nothing else is left in it (see the module's docstring)."""

    def __init__(self, name: str, namespace: str, owner: str, leftovers: Iterable[str] = (),
                 opts: pulumi.ResourceOptions | None = None) -> None:
        k8s = pulumi.Config("kubernetes")
        props = {
            "namespace": namespace,
            "owner": owner,
            "leftovers": sorted(leftovers),
            "kubeconfig": k8s.get_secret("kubeconfig"),
            "context": k8s.get("context"),
            "cluster": k8s.get("cluster"),
        }
        super().__init__(_GuardProvider(), name, props, pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"])))
