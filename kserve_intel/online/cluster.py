"""Who owns what on the cluster: a read-only look before `pulumi preview` and `up` register anything.

For each object the stack would create that can already exist (namespaces, cluster-scoped objects, named
Secrets and ServiceAccounts in shared namespaces, Helm releases), say whether it is

* `absent`:  nothing there, the stack may create it;
* `ours`:    it carries this stack's owner stamp (annotation `kserve-intel/owner: <org>/<project>/<stack>`,
             or for a Helm release the description `kserve-intel/owner=<owner>`): the stack created it
             (and may hold it in its state, or retained it on an earlier destroy);
* `foreign`: someone else's, with who manages it (another stack's stamp, Helm's release annotations,
             `app.kubernetes.io/managed-by`, owner references, the server-side apply field managers);
* `unknown`: the stack's credentials may not read it (HTTP 403) or the API server did not answer as expected.

It also finds cert-manager and KServe already installed (for `certManager: auto`, `kserve.install: auto`)
and lists what a namespace holds (before a namespace the stack created is deleted).

Plain Python on the official `kubernetes` client (kubeconfig loading, exec/OIDC/token auth, proxies) with
raw GET requests; nothing here writes to the cluster or imports Pulumi. The caller resolves the kubeconfig
the way pulumi-kubernetes' default provider does (`kubernetes:kubeconfig` path or contents, else
$KUBECONFIG or ~/.kube/config; `kubernetes:context`, `kubernetes:cluster`) and passes it to `connect`.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger
from urllib3.exceptions import HTTPError as Urllib3Error

from ..naming import ADOPTED_ANNOTATION, HELM_OWNER_PREFIX, OWNER_ANNOTATION, PART_OF
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
HELM_RELEASE_NAME = "meta.helm.sh/release-name"
HELM_RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"

ABSENT, OURS, FOREIGN, UNKNOWN = "absent", "ours", "foreign", "unknown"
DEFAULT_TIMEOUT_SECONDS = 10.0
# Helm release states in which Helm's own description no longer carries the stamp (failRelease overwrites it).
_HELM_UNFINISHED = frozenset({"failed", "pending-install", "pending-upgrade", "pending-rollback"})


class ClusterUnreachable(Exception):
    """No kubeconfig, an unusable one, or an API server that does not answer."""


@dataclass(frozen=True)
class ObjectKey:
    """One object the stack would create."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    @property
    def group_version(self) -> tuple[str, str]:
        group, _, version = self.api_version.rpartition("/")
        return group, version

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class HelmReleaseKey:
    """A Helm release the stack would install (Helm keeps one Secret per revision in its namespace)."""

    name: str
    namespace: str

    def __str__(self) -> str:
        return f"Helm release {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Finding:
    key: ObjectKey | HelmReleaseKey
    state: str
    uid: str | None = None
    # Who manages a foreign object, most telling first ("Helm release cert-manager/cert-manager", ...).
    managers: tuple[str, ...] = ()
    adopted: bool = False
    detail: str = ""
    # Foreign only by a missing stamp: labelled part-of kserve-intel, left by a version before owner stamps (or a
    # Helm release in such a namespace). `make up ADOPT=1` takes these back (rules/ownership.py).
    unstamped_kserve_intel: bool = False

    def message(self) -> str:
        if self.state == ABSENT:
            return f"{self.key}: absent"
        if self.state == OURS:
            return f"{self.key}: this stack's" + (" (adopted: kept on destroy)" if self.adopted else "") + (
                f"; {self.detail}" if self.detail else "")
        if self.state == UNKNOWN:
            return f"{self.key}: cannot tell ({self.detail})"
        who = "; ".join(self.managers) or "no owner recorded"
        return f"{self.key} exists and is not this stack's: {who}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Installation:
    """cert-manager or KServe as found on the cluster."""

    present: bool
    version: str | None = None
    namespace: str | None = None
    managers: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.present and not self.missing


# --- classification (pure functions on the objects' JSON) ---------------------------------------------


def managers_of(obj: Mapping[str, Any], owner: str | None = None) -> tuple[str, ...]:
    """Everything the object says about who manages it, most telling first."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    found: list[str] = []
    stamp = annotations.get(OWNER_ANNOTATION)
    if stamp and stamp != owner:
        found.append(f"kserve-intel stack {stamp}")
    elif not stamp and labels.get(PART_OF_LABEL) == PART_OF:
        found.append("kserve-intel without an owner stamp (a version before ownership stamps, this or another stack)")
    if annotations.get(HELM_RELEASE_NAME):
        found.append(f"Helm release {annotations.get(HELM_RELEASE_NAMESPACE, '?')}/{annotations[HELM_RELEASE_NAME]}")
    managed_by = labels.get(MANAGED_BY_LABEL)
    if managed_by and not (managed_by == "Helm" and annotations.get(HELM_RELEASE_NAME)):
        found.append(f"{MANAGED_BY_LABEL}={managed_by}")
    for ref in meta.get("ownerReferences") or []:
        found.append(f"owned by {ref.get('kind')}/{ref.get('name')}")
    field_managers = sorted({m.get("manager") for m in meta.get("managedFields") or [] if m.get("manager")})
    if field_managers:
        found.append("field managers: " + ", ".join(field_managers))
    return tuple(found)


def classify(key: ObjectKey, obj: Mapping[str, Any] | None, owner: str) -> Finding:
    """`absent`, `ours` (stamped with `owner`) or `foreign` (with who manages it)."""
    if obj is None:
        return Finding(key, ABSENT)
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    detail = "being deleted" if meta.get("deletionTimestamp") else ""
    if annotations.get(OWNER_ANNOTATION) == owner:
        return Finding(key, OURS, meta.get("uid"), adopted=annotations.get(ADOPTED_ANNOTATION) == "true",
                       detail=detail)
    unstamped = not annotations.get(OWNER_ANNOTATION) and (meta.get("labels") or {}).get(PART_OF_LABEL) == PART_OF
    return Finding(key, FOREIGN, meta.get("uid"), managers_of(obj, owner), detail=detail,
                   unstamped_kserve_intel=unstamped)


def decode_helm_release(secret: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's release record: base64 (Secret data) of base64 of gzipped JSON (helm pkg/storage/driver/util.go)."""
    raw = base64.b64decode(base64.b64decode((secret.get("data") or {}).get("release", "")))
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def classify_helm_release(key: HelmReleaseKey, secrets: list[Mapping[str, Any]], owner: str,
                          namespace_is_ours: bool = False, namespace_unstamped_kserve_intel: bool = False) -> Finding:
    """From the release's storage Secrets (labels owner=helm, name=<release>): the newest revision decides."""
    if not secrets:
        return Finding(key, ABSENT)
    newest = max(secrets, key=lambda s: int(((s.get("metadata") or {}).get("labels") or {}).get("version", "0")))
    labels = (newest.get("metadata") or {}).get("labels") or {}
    status = labels.get("status", "?")
    try:
        record = decode_helm_release(newest)
    except (ValueError, OSError, TypeError):
        record = {}
    info = record.get("info") or {}
    chart = (record.get("chart") or {}).get("metadata") or {}
    description = info.get("description") or ""
    what = (f"chart {chart.get('name', '?')} {chart.get('version', '?')}, "
            f"revision {labels.get('version', '?')}, {status}")
    if description == HELM_OWNER_PREFIX + owner:
        return Finding(key, OURS, detail=what)
    if status in _HELM_UNFINISHED and namespace_is_ours:
        # Helm replaces the description with the error of a failed install: a failed release in a
        # namespace this stack created is taken to be this stack's unfinished one.
        return Finding(key, OURS, detail=what + "; unfinished release in this stack's namespace")
    stamp = description[len(HELM_OWNER_PREFIX):] if description.startswith(HELM_OWNER_PREFIX) else None
    who = f"kserve-intel stack {stamp}" if stamp else f"Helm ({description or 'no description'})"
    return Finding(key, FOREIGN, managers=(who,), detail=what,
                   unstamped_kserve_intel=not stamp and namespace_unstamped_kserve_intel)


_IMAGE_TAG = re.compile(r":(v?\d+\.\d+\.\d+[^@/:]*)(?:@sha256:[0-9a-f]+)?$")


def image_version(image: str) -> str | None:
    """`quay.io/jetstack/cert-manager-controller:v1.17.0` -> `v1.17.0` (None for a digest or `latest`)."""
    match = _IMAGE_TAG.search(image)
    return match.group(1) if match else None


# --- the connection ------------------------------------------------------------------------------------


def connect(kubeconfig: str | None = None, context: str | None = None, cluster: str | None = None,
            timeout: float = DEFAULT_TIMEOUT_SECONDS) -> "Cluster":
    """An API client as pulumi-kubernetes' default provider would build it (provider.go Configure).

    `kubeconfig` is the provider config `kubernetes:kubeconfig`: a path or the file's contents. Without it:
    $KUBECONFIG (a path list) or ~/.kube/config, then the in-cluster service account. `context` and
    `cluster` are `kubernetes:context` and `kubernetes:cluster`. Nothing is written back to the kubeconfig.
    """
    try:
        if kubeconfig and not _is_file(Path(kubeconfig).expanduser()):
            data = yaml.safe_load(kubeconfig)  # the file's contents
            if not isinstance(data, dict):
                raise ClusterUnreachable("kubernetes:kubeconfig is neither a readable file nor kubeconfig contents")
            loader = KubeConfigLoader(config_dict=_with_cluster(data, context, cluster), active_context=context)
        else:
            paths = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
            if not any(_is_file(Path(p).expanduser()) for p in paths.split(os.pathsep) if p):
                if context or cluster:
                    raise ClusterUnreachable(f"no kubeconfig file at {paths} (kubernetes:context is set)")
                configuration = k8s_client.Configuration()
                k8s_config.load_incluster_config(client_configuration=configuration)
                return Cluster(k8s_client.ApiClient(configuration), timeout)
            # Merged like kubectl; each entry keeps its file's directory for relative certificate paths.
            merged = KubeConfigMerger(str(Path(paths).expanduser()) if kubeconfig else paths).config
            _with_cluster(merged.value, context, cluster)
            loader = KubeConfigLoader(config_dict=merged, active_context=context)
        configuration = k8s_client.Configuration()
        loader.load_and_set(configuration)
        api = k8s_client.ApiClient(configuration)
    except ConfigException as error:
        raise ClusterUnreachable(f"cannot load the kubeconfig: {error}") from None
    except OSError as error:
        raise ClusterUnreachable(f"cannot read the kubeconfig: {error}") from None
    except yaml.YAMLError as error:
        raise ClusterUnreachable(f"kubernetes:kubeconfig is neither a readable file nor kubeconfig contents: "
                                 f"{str(error).splitlines()[0]}") from None
    return Cluster(api, timeout)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # contents too long to be a file name
        return False


def _with_cluster(data: dict[str, Any], context: str | None, cluster: str | None) -> dict[str, Any]:
    """`kubernetes:cluster` overrides the cluster of the chosen context (clientcmd's ConfigOverrides)."""
    if not cluster:
        return data
    name = context or data.get("current-context")
    for entry in data.get("contexts") or []:
        entry = getattr(entry, "value", entry)  # a merged file's entries are ConfigNodes
        if entry.get("name") == name:
            entry.setdefault("context", {})["cluster"] = cluster
            return data
    raise ClusterUnreachable(f"kubeconfig has no context {name!r}")


class Cluster:
    """Read-only questions to one API server."""

    def __init__(self, api: k8s_client.ApiClient, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.api = api
        self.timeout = timeout
        self._resources: dict[str, dict[str, tuple[str, bool]] | None] = {}

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def server(self) -> str:
        return self.api.configuration.host

    def get(self, path: str, query: Iterable[tuple[str, str]] = ()) -> dict[str, Any] | None:
        """The JSON at `path`; None on 404. Raises ApiException for other HTTP errors."""
        try:
            return self.api.call_api(
                path, "GET", query_params=list(query), header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"], response_type="object", _return_http_data_only=True,
                _request_timeout=self.timeout,
            )
        except ApiException as error:
            if error.status == 404:
                return None
            if error.status == 401:
                raise ClusterUnreachable(f"{self.server} refused the kubeconfig's credentials (HTTP 401)") from None
            if not error.status:
                raise ClusterUnreachable(f"{self.server}: {error.reason}") from None
            raise
        except (OSError, Urllib3Error) as error:
            raise ClusterUnreachable(f"{self.server} does not answer ({type(error).__name__})") from None

    # --- discovery --------------------------------------------------------------------------------------

    def _group_version_path(self, api_version: str) -> str:
        return "/api/v1" if api_version == "v1" else f"/apis/{api_version}"

    def resource(self, api_version: str, kind: str) -> tuple[str, bool] | None:
        """(plural, namespaced) of a kind, or None when the API server does not serve it (no CRD)."""
        if api_version not in self._resources:
            listing = self.get(self._group_version_path(api_version))
            self._resources[api_version] = None if listing is None else {
                r["kind"]: (r["name"], bool(r.get("namespaced")))
                for r in listing.get("resources", []) if "/" not in r["name"]
            }
        kinds = self._resources[api_version]
        return None if kinds is None else kinds.get(kind)

    def path(self, key: ObjectKey) -> str | None:
        found = self.resource(key.api_version, key.kind)
        if found is None:
            return None
        plural, namespaced = found
        base = self._group_version_path(key.api_version)
        if namespaced:
            return f"{base}/namespaces/{key.namespace}/{plural}/{key.name}"
        return f"{base}/{plural}/{key.name}"

    # --- ownership --------------------------------------------------------------------------------------

    def find(self, keys: Iterable[ObjectKey | HelmReleaseKey], owner: str) -> list[Finding]:
        """One finding per key, in order."""
        findings = []
        for key in keys:
            try:
                if isinstance(key, HelmReleaseKey):
                    findings.append(self.helm_release(key, owner))
                    continue
                path = self.path(key)
                findings.append(Finding(key, ABSENT) if path is None else classify(key, self.get(path), owner))
            except ApiException as error:
                reason = "forbidden: the stack's credentials may not read it" if error.status == 403 else \
                    f"HTTP {error.status} {error.reason}"
                findings.append(Finding(key, UNKNOWN, detail=reason))
        return findings

    def helm_release(self, key: HelmReleaseKey, owner: str) -> Finding:
        listing = self.get(f"/api/v1/namespaces/{key.namespace}/secrets",
                           [("labelSelector", f"owner=helm,name={key.name}")])
        secrets = [] if listing is None else listing.get("items", [])
        namespace = self.get(f"/api/v1/namespaces/{key.namespace}") if secrets else None
        ns_finding = classify(ObjectKey("v1", "Namespace", key.namespace), namespace, owner) if namespace else None
        return classify_helm_release(
            key, secrets, owner, namespace_is_ours=ns_finding is not None and ns_finding.state == OURS,
            namespace_unstamped_kserve_intel=ns_finding is not None and ns_finding.unstamped_kserve_intel)

    # --- what a namespace holds ---------------------------------------------------------------------------

    # Kinds whose members in a namespace say "somebody uses it"; the defaults Kubernetes puts in
    # every namespace are not content.
    CONTENT_KINDS: tuple[tuple[str, str], ...] = (
        ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "ServiceAccount"), ("v1", "Service"),
        ("v1", "PersistentVolumeClaim"), ("v1", "Pod"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"), ("batch/v1", "Job"), ("serving.kserve.io/v1beta1", "InferenceService"),
        ("serving.kserve.io/v1alpha1", "ServingRuntime"),
    )
    _DEFAULTS = {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}

    def namespace_contents(self, namespace: str, owner: str | None = None,
                           kinds: Iterable[tuple[str, str]] = CONTENT_KINDS) -> list[str]:
        """`Kind/name` of what the namespace holds, without Kubernetes' defaults and, given `owner`,
        without objects stamped by that stack or owned by another object (pods of a Deployment...)."""
        found = []
        for api_version, kind in kinds:
            resource = self.resource(api_version, kind)
            if resource is None or not resource[1]:
                continue
            listing = self.get(f"{self._group_version_path(api_version)}/namespaces/{namespace}/{resource[0]}")
            for item in (listing or {}).get("items", []):
                meta = item.get("metadata") or {}
                name = meta.get("name", "?")
                if (kind, name) in self._DEFAULTS or meta.get("ownerReferences") or meta.get("deletionTimestamp"):
                    continue
                if kind == "Secret" and item.get("type") == "kubernetes.io/service-account-token":
                    continue
                if owner and (meta.get("annotations") or {}).get(OWNER_ANNOTATION) == owner:
                    continue
                found.append(f"{kind}/{name}")
        return found

    # --- installations ------------------------------------------------------------------------------------

    def _crd(self, name: str) -> dict[str, Any] | None:
        return self.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")

    def _deployments(self, label_selector: str) -> list[dict[str, Any]]:
        listing = self.get("/apis/apps/v1/deployments", [("labelSelector", label_selector)])
        return (listing or {}).get("items", [])

    def cert_manager(self) -> Installation:
        """cert-manager: its CRDs serving cert-manager.io/v1, and its controller and webhook Deployments."""
        crds = {name: self._crd(f"{name}.cert-manager.io") for name in ("certificates", "issuers", "clusterissuers")}
        evidence = [f"CRD {n}.cert-manager.io" for n, crd in crds.items() if crd is not None]
        missing = [f"CRD {n}.cert-manager.io" for n, crd in crds.items() if crd is None]
        served = {v["name"] for crd in crds.values() if crd for v in crd["spec"].get("versions", []) if v.get("served")}
        if evidence and "v1" not in served:
            missing.append("cert-manager.io/v1 served")
        version = namespace = None
        managers: tuple[str, ...] = ()
        deployments = self._deployments("app.kubernetes.io/name in (cert-manager,webhook)")
        for role, image_part in (("controller", "cert-manager-controller"), ("webhook", "cert-manager-webhook")):
            match = [d for d in deployments
                     if any(image_part in c.get("image", "") for c in d["spec"]["template"]["spec"]["containers"])]
            if not match:
                missing.append(f"cert-manager {role} Deployment")
                continue
            deployment = match[0]
            meta = deployment["metadata"]
            evidence.append(f"Deployment {meta['namespace']}/{meta['name']}")
            if role == "controller":
                namespace = meta["namespace"]
                managers = managers_of(deployment)
                images = [c.get("image", "") for c in deployment["spec"]["template"]["spec"]["containers"]]
                version = next((v for v in map(image_version, images) if v), None)
            if not (deployment.get("status") or {}).get("availableReplicas"):
                missing.append(f"an available {role} pod")
        return Installation(bool(evidence), version, namespace, managers, tuple(evidence), tuple(missing))

    def kserve(self) -> Installation:
        """KServe: the InferenceService CRD, the controller (Deployment or out-of-cluster) and its ConfigMap."""
        crd = self._crd("inferenceservices.serving.kserve.io")
        if crd is None:
            return Installation(False, missing=("CRD inferenceservices.serving.kserve.io",))
        evidence = ["CRD inferenceservices.serving.kserve.io"]
        missing: list[str] = []
        managers = managers_of(crd)
        version = namespace = None
        deployments = self._deployments("control-plane=kserve-controller-manager")
        if deployments:
            meta = deployments[0]["metadata"]
            namespace = meta["namespace"]
            evidence.append(f"Deployment {namespace}/{meta['name']}")
            images = [c.get("image", "") for c in deployments[0]["spec"]["template"]["spec"]["containers"]]
            version = next((v for i in images if "kserve-controller" in i and (v := image_version(i))), None)
        else:
            missing.append("kserve-controller-manager Deployment (a controller outside the cluster cannot be seen)")
        annotations = (crd.get("metadata") or {}).get("annotations") or {}
        for candidate in dict.fromkeys(filter(None, (namespace, annotations.get(HELM_RELEASE_NAMESPACE), "kserve"))):
            if self.get(f"/api/v1/namespaces/{candidate}/configmaps/inferenceservice-config") is not None:
                namespace = namespace or candidate
                evidence.append(f"ConfigMap {candidate}/inferenceservice-config")
                break
        else:
            missing.append("ConfigMap inferenceservice-config")
        if version is None and annotations.get(HELM_RELEASE_NAME) and annotations.get(HELM_RELEASE_NAMESPACE):
            release = HelmReleaseKey(annotations[HELM_RELEASE_NAME], annotations[HELM_RELEASE_NAMESPACE])
            chart_version = self._helm_chart_version(release)
            if chart_version:
                version = chart_version
                evidence.append(f"{release} (chart {chart_version})")
        return Installation(True, version, namespace, managers, tuple(evidence), tuple(missing))

    def knative_serving(self) -> Installation:
        """Knative Serving: CRD services.serving.knative.dev serving v1, and its controller and activator."""
        crd = self._crd("services.serving.knative.dev")
        if crd is None:
            return Installation(False, missing=("CRD services.serving.knative.dev",))
        evidence, missing = ["CRD services.serving.knative.dev"], []
        version = namespace = None
        deployments = self._deployments("app.kubernetes.io/name=knative-serving")
        for role in ("controller", "activator"):
            match = [d for d in deployments if d["metadata"]["name"] == role]
            if not match:
                missing.append(f"Knative Serving {role} Deployment")
                continue
            meta = match[0]["metadata"]
            evidence.append(f"Deployment {meta['namespace']}/{meta['name']}")
            namespace = namespace or meta["namespace"]
            version = version or (meta.get("labels") or {}).get("app.kubernetes.io/version")
        return Installation(True, version, namespace, managers_of(crd), tuple(evidence), tuple(missing))

    def keda(self) -> Installation:
        """KEDA: CRD scaledobjects.keda.sh and the keda-operator Deployment."""
        crd = self._crd("scaledobjects.keda.sh")
        if crd is None:
            return Installation(False, missing=("CRD scaledobjects.keda.sh",))
        evidence, missing = ["CRD scaledobjects.keda.sh"], []
        version = namespace = None
        operators = self._deployments("app.kubernetes.io/name=keda-operator")
        if operators:
            meta = operators[0]["metadata"]
            namespace = meta["namespace"]
            evidence.append(f"Deployment {namespace}/{meta['name']}")
            images = [c.get("image", "") for c in operators[0]["spec"]["template"]["spec"]["containers"]]
            version = next((v for v in map(image_version, images) if v), None)
        else:
            missing.append("keda-operator Deployment")
        return Installation(True, version, namespace, managers_of(crd), tuple(evidence), tuple(missing))

    def _helm_chart_version(self, key: HelmReleaseKey) -> str | None:
        try:
            listing = self.get(f"/api/v1/namespaces/{key.namespace}/secrets",
                               [("labelSelector", f"owner=helm,name={key.name},status=deployed")])
        except ApiException:
            return None
        for secret in (listing or {}).get("items", []):
            try:
                return ((decode_helm_release(secret).get("chart") or {}).get("metadata") or {}).get("version")
            except (ValueError, OSError, TypeError):
                return None
        return None
