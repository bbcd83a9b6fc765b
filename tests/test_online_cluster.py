"""The read-only ownership look (kserve_intel/online/cluster.py) against a local server that answers like an
API server: discovery, objects, label-selected lists, 403 and 401."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from kserve_intel.online.cluster import (
    ABSENT, ADOPTED_ANNOTATION, FOREIGN, OURS, OWNER_ANNOTATION, UNKNOWN, ClusterUnreachable, HelmReleaseKey,
    ObjectKey, classify, classify_helm_release, connect, decode_helm_release, image_version, managers_of,
)
from kserve_intel.naming import owner_id

OWNER = owner_id("organization", "kserve-intel", "platform")
OTHER = owner_id("organization", "kserve-intel", "apps")
TOKEN = "test-token"


def meta(name, namespace=None, labels=None, annotations=None, managers=(), uid=None, **extra):
    out = {"name": name, "uid": uid or f"uid-{name}", "labels": labels or {}, "annotations": annotations or {},
           "managedFields": [{"manager": m, "operation": "Apply"} for m in managers], **extra}
    if namespace:
        out["namespace"] = namespace
    return out


def helm_secret(name, namespace, revision, status, description, chart="cert-manager", chart_version="v1.17.0"):
    record = {"name": name, "namespace": namespace, "version": revision,
              "info": {"status": status, "description": description},
              "chart": {"metadata": {"name": chart, "version": chart_version}}}
    payload = base64.b64encode(gzip.compress(json.dumps(record).encode())).decode()
    return {"metadata": meta(f"sh.helm.release.v1.{name}.v{revision}", namespace,
                             labels={"owner": "helm", "name": name, "status": status, "version": str(revision)}),
            "type": "helm.sh/release.v1", "data": {"release": base64.b64encode(payload.encode()).decode()}}


# --- pure classification ----------------------------------------------------------------------------------


def test_an_object_stamped_by_this_stack_is_ours_and_says_whether_it_was_adopted():
    key = ObjectKey("v1", "Namespace", "kserve")
    ours = {"metadata": meta("kserve", annotations={OWNER_ANNOTATION: OWNER})}
    adopted = {"metadata": meta("kserve", annotations={OWNER_ANNOTATION: OWNER, ADOPTED_ANNOTATION: "true"})}
    assert classify(key, None, OWNER).state == ABSENT
    assert classify(key, ours, OWNER) == classify(key, ours, OWNER)
    finding = classify(key, ours, OWNER)
    assert (finding.state, finding.uid, finding.adopted) == (OURS, "uid-kserve", False)
    assert classify(key, adopted, OWNER).adopted
    assert "kept on destroy" in classify(key, adopted, OWNER).message()


def test_a_foreign_object_names_who_manages_it_most_telling_first():
    key = ObjectKey("v1", "Namespace", "cert-manager")
    helm = {"metadata": meta(
        "cert-manager", labels={"app.kubernetes.io/managed-by": "Helm"},
        annotations={"meta.helm.sh/release-name": "cm", "meta.helm.sh/release-namespace": "cert-manager"},
        managers=("helm", "kubectl-label"))}
    finding = classify(key, helm, OWNER)
    assert finding.state == FOREIGN
    # Helm's label is implied by its release annotations: not repeated.
    assert finding.managers == ("Helm release cert-manager/cm", "field managers: helm, kubectl-label")
    assert finding.message() == ("Namespace cert-manager exists and is not this stack's: Helm release "
                                 "cert-manager/cm; field managers: helm, kubectl-label")


def test_another_stack_and_an_unstamped_kserve_intel_object_are_foreign():
    key = ObjectKey("serving.kserve.io/v1alpha1", "ClusterServingRuntime", "intel-vllm-gaudi")
    other = {"metadata": meta("intel-vllm-gaudi", annotations={OWNER_ANNOTATION: OTHER},
                              labels={"app.kubernetes.io/managed-by": "pulumi"},
                              managers=("pulumi-kubernetes-1a2b3c4d",))}
    assert classify(key, other, OWNER).managers == (
        f"kserve-intel stack {OTHER}", "app.kubernetes.io/managed-by=pulumi",
        "field managers: pulumi-kubernetes-1a2b3c4d")
    legacy = {"metadata": meta("intel-vllm-gaudi", labels={"app.kubernetes.io/part-of": "kserve-intel"})}
    finding = classify(key, legacy, OWNER)
    assert finding.state == FOREIGN and finding.managers[0].startswith("kserve-intel without an owner stamp")


def test_owner_references_and_deletion_are_reported():
    obj = {"metadata": meta("x", "ns", deletionTimestamp="2026-01-01T00:00:00Z",
                            ownerReferences=[{"kind": "InferenceService", "name": "m"}])}
    finding = classify(ObjectKey("v1", "Service", "x", "ns"), obj, OWNER)
    assert "owned by InferenceService/m" in finding.managers and finding.detail == "being deleted"
    assert managers_of({"metadata": {}}) == ()


def test_helm_release_records_decode_and_classify():
    key = HelmReleaseKey("cert-manager", "cert-manager")
    mine = helm_secret("cert-manager", "cert-manager", 1, "deployed", f"kserve-intel/owner={OWNER}")
    assert decode_helm_release(mine)["chart"]["metadata"]["version"] == "v1.17.0"
    assert classify_helm_release(key, [], OWNER).state == ABSENT
    assert classify_helm_release(key, [mine], OWNER).state == OURS
    # The newest revision decides: a user upgraded it with their own description.
    theirs = helm_secret("cert-manager", "cert-manager", 2, "deployed", "Upgrade complete")
    finding = classify_helm_release(key, [mine, theirs], OWNER)
    assert finding.state == FOREIGN and finding.managers == ("Helm (Upgrade complete)",)
    assert finding.detail == "chart cert-manager v1.17.0, revision 2, deployed"
    # Helm overwrites the description of a failed install with its error.
    failed = helm_secret("cert-manager", "cert-manager", 1, "failed", "Release \"cert-manager\" failed: timed out")
    assert classify_helm_release(key, [failed], OWNER).state == FOREIGN
    assert classify_helm_release(key, [failed], OWNER, namespace_is_ours=True).state == OURS
    stamped_by_other = helm_secret("cert-manager", "cert-manager", 1, "deployed", f"kserve-intel/owner={OTHER}")
    assert classify_helm_release(key, [stamped_by_other], OWNER).managers == (f"kserve-intel stack {OTHER}",)


@pytest.mark.parametrize("image, version", [
    ("quay.io/jetstack/cert-manager-controller:v1.17.0", "v1.17.0"),
    ("kserve/kserve-controller:v0.20.0@sha256:" + "a" * 64, "v0.20.0"),
    ("registry.local:5000/kserve/kserve-controller:v0.13.1", "v0.13.1"),
    ("kserve/kserve-controller:latest", None),
    ("kserve/kserve-controller@sha256:" + "b" * 64, None),
])
def test_image_version(image, version):
    assert image_version(image) == version


# --- through a fake API server ----------------------------------------------------------------------------


def discovery(api_version, resources):
    return {"kind": "APIResourceList", "groupVersion": api_version,
            "resources": [{"name": plural, "kind": kind, "namespaced": ns} for plural, kind, ns in resources]}


def crd(name, versions=("v1",), **metadata):
    return {"metadata": meta(name, **metadata), "spec": {"versions": [{"name": v, "served": True} for v in versions]}}


def deployment(name, namespace, image, labels, available=1):
    return {"metadata": meta(name, namespace, labels=labels),
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}},
            "status": {"availableReplicas": available}}


CM_LABELS = {"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/managed-by": "Helm"}
ROUTES: dict[tuple[str, str], object] = {
    ("/api/v1", ""): discovery("v1", [("namespaces", "Namespace", False), ("configmaps", "ConfigMap", True),
                                      ("secrets", "Secret", True), ("serviceaccounts", "ServiceAccount", True),
                                      ("namespaces/status", "Namespace", False)]),
    ("/apis/serving.kserve.io/v1alpha1", ""): discovery(
        "serving.kserve.io/v1alpha1", [("clusterservingruntimes", "ClusterServingRuntime", False),
                                       ("servingruntimes", "ServingRuntime", True)]),
    ("/apis/apps/v1", ""): discovery("apps/v1", [("deployments", "Deployment", True)]),
    ("/api/v1/namespaces/cert-manager", ""): {"metadata": meta("cert-manager", managers=("kubectl-create",))},
    ("/api/v1/namespaces/kserve", ""): {"metadata": meta("kserve", annotations={OWNER_ANNOTATION: OWNER})},
    ("/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/intel-vllm-gaudi", ""): {
        "metadata": meta("intel-vllm-gaudi", annotations={OWNER_ANNOTATION: OTHER})},
    ("/api/v1/namespaces/cert-manager/secrets", "labelSelector=owner=helm,name=cert-manager"): {
        "items": [helm_secret("cert-manager", "cert-manager", 1, "deployed", "Install complete")]},
    ("/api/v1/namespaces/kserve/secrets", "labelSelector=owner=helm,name=kserve-crd"): {"items": []},
    ("/api/v1/namespaces/cert-manager/configmaps", ""): {"items": [
        {"metadata": meta("kube-root-ca.crt", "cert-manager")}, {"metadata": meta("users-config", "cert-manager")},
        {"metadata": meta("ours", "cert-manager", annotations={OWNER_ANNOTATION: OWNER})}]},
    ("/api/v1/namespaces/cert-manager/secrets", ""): {"items": [
        {"metadata": meta("cert-manager-webhook-ca", "cert-manager"), "type": "Opaque"},
        {"metadata": meta("old-token", "cert-manager"), "type": "kubernetes.io/service-account-token"}]},
    ("/api/v1/namespaces/cert-manager/serviceaccounts", ""): {"items": [{"metadata": meta("default", "cert-manager")}]},
    ("/apis/apps/v1/namespaces/cert-manager/deployments", ""): {"items": [
        deployment("cert-manager", "cert-manager", "quay.io/jetstack/cert-manager-controller:v1.16.1", CM_LABELS)]},
    ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/certificates.cert-manager.io", ""):
        crd("certificates.cert-manager.io"),
    ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/issuers.cert-manager.io", ""):
        crd("issuers.cert-manager.io"),
    ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusterissuers.cert-manager.io", ""):
        crd("clusterissuers.cert-manager.io"),
    ("/apis/apps/v1/deployments", "labelSelector=app.kubernetes.io/name in (cert-manager,webhook)"): {"items": [
        deployment("cert-manager", "cert-manager", "quay.io/jetstack/cert-manager-controller:v1.16.1", CM_LABELS),
        deployment("cert-manager-webhook", "cert-manager", "quay.io/jetstack/cert-manager-webhook:v1.16.1",
                   {**CM_LABELS, "app.kubernetes.io/name": "webhook"}, available=0)]},
    ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/inferenceservices.serving.kserve.io", ""): crd(
        "inferenceservices.serving.kserve.io", ("v1beta1",), labels={"app.kubernetes.io/managed-by": "Helm"},
        annotations={"meta.helm.sh/release-name": "kserve-crd", "meta.helm.sh/release-namespace": "kserve"}),
    ("/apis/apps/v1/deployments", "labelSelector=control-plane=kserve-controller-manager"): {"items": []},
    ("/api/v1/namespaces/kserve/configmaps/inferenceservice-config", ""): {"metadata": meta("inferenceservice-config")},
    ("/api/v1/namespaces/kserve/secrets", "labelSelector=owner=helm,name=kserve-crd,status=deployed"): {"items": [
        helm_secret("kserve-crd", "kserve", 3, "deployed", "Upgrade complete", "kserve-crd", "v0.19.0")]},
}
# KEDA: CRD and operator; Knative: CRD and the controller only (the activator missing).
ROUTES.update({
    ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/scaledobjects.keda.sh", ""): crd(
        "scaledobjects.keda.sh", ("v1alpha1",)),
    ("/apis/apps/v1/deployments", "labelSelector=app.kubernetes.io/name=keda-operator"): {"items": [
        deployment("keda-operator", "keda", "ghcr.io/kedacore/keda:2.18.0", {"app.kubernetes.io/name": "keda-operator"})]},
    ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/services.serving.knative.dev", ""): crd(
        "services.serving.knative.dev"),
    ("/apis/apps/v1/deployments", "labelSelector=app.kubernetes.io/name=knative-serving"): {"items": [
        deployment("controller", "knative-serving", "gcr.io/knative-releases/controller@sha256:" + "c" * 64,
                   {"app.kubernetes.io/name": "knative-serving", "app.kubernetes.io/version": "1.21.1"})]},
})
FORBIDDEN = {"/api/v1/namespaces/keda/secrets/keda-token"}


class FakeApiServer(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def log_message(self, *args):
        pass

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        url = urlparse(self.path)
        FakeApiServer.seen.append((url.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._json(401, {"kind": "Status", "code": 401, "reason": "Unauthorized"})
        if url.path in FORBIDDEN:
            return self._json(403, {"kind": "Status", "code": 403, "reason": "Forbidden"})
        query = "&".join(f"{k}={v[0]}" for k, v in sorted(parse_qs(url.query).items()))
        body = ROUTES.get((url.path, query))
        if body is None:
            return self._json(404, {"kind": "Status", "code": 404, "reason": "NotFound"})
        return self._json(200, body)


@contextmanager
def fake_api_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def kubeconfig(server: str, token: str = TOKEN, extra_cluster: str | None = None) -> dict:
    clusters = [{"name": "local", "cluster": {"server": server}}]
    if extra_cluster:
        clusters.append({"name": "other", "cluster": {"server": extra_cluster}})
    return {"apiVersion": "v1", "kind": "Config", "current-context": "ctx",
            "clusters": clusters,
            "contexts": [{"name": "ctx", "context": {"cluster": "local", "user": "u"}},
                         {"name": "broken", "context": {"cluster": "local", "user": "nobody"}}],
            "users": [{"name": "u", "user": {"token": token}}, {"name": "nobody", "user": {"token": "wrong"}}]}


@pytest.fixture(scope="module")
def server():
    with fake_api_server() as url:
        yield url


@pytest.fixture
def kubeconfig_file(tmp_path, server):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(kubeconfig(server)))
    return path


KEYS = [
    ObjectKey("v1", "Namespace", "cert-manager"),
    ObjectKey("v1", "Namespace", "kserve"),
    ObjectKey("v1", "Namespace", "intel-inference"),
    ObjectKey("serving.kserve.io/v1alpha1", "ClusterServingRuntime", "intel-vllm-gaudi"),
    # The CRD is not installed: the API server does not serve the group, so nothing of that kind can exist.
    ObjectKey("serving.kserve.io/v1alpha1", "LocalModelNodeGroup", "kserve-intel"),
    ObjectKey("keda.sh/v1alpha1", "ScaledObject", "m", "intel-inference"),
    ObjectKey("v1", "Secret", "keda-token", "keda"),
    HelmReleaseKey("cert-manager", "cert-manager"),
    HelmReleaseKey("kserve-crd", "kserve"),
]


def test_find_reports_every_object_in_order(kubeconfig_file):
    with connect(str(kubeconfig_file)) as cluster:
        findings = cluster.find(KEYS, OWNER)
    assert [(str(f.key), f.state) for f in findings] == [
        ("Namespace cert-manager", FOREIGN),
        ("Namespace kserve", OURS),
        ("Namespace intel-inference", ABSENT),
        ("ClusterServingRuntime intel-vllm-gaudi", FOREIGN),
        ("LocalModelNodeGroup kserve-intel", ABSENT),
        ("ScaledObject intel-inference/m", ABSENT),
        ("Secret keda/keda-token", UNKNOWN),
        ("Helm release cert-manager/cert-manager", FOREIGN),
        ("Helm release kserve/kserve-crd", ABSENT),
    ]
    assert findings[0].managers == ("field managers: kubectl-create",)
    assert findings[3].managers == (f"kserve-intel stack {OTHER}",)
    assert "forbidden" in findings[6].message()
    assert findings[7].detail == "chart cert-manager v1.17.0, revision 1, deployed"


def test_kubeconfig_contents_env_list_context_and_cluster_override(tmp_path, server, monkeypatch):
    contents = yaml.safe_dump(kubeconfig(server))
    with connect(contents) as cluster:
        assert cluster.find([ObjectKey("v1", "Namespace", "kserve")], OWNER)[0].state == OURS
    # $KUBECONFIG as a path list (the first entry does not exist), with a named context.
    path = tmp_path / "config"
    path.write_text(contents)
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{path}")
    with connect(context="ctx") as cluster:
        assert cluster.server == server
    # kubernetes:cluster points the context at another cluster entry.
    path.write_text(yaml.safe_dump(kubeconfig("http://127.0.0.1:1", extra_cluster=server)))
    with connect(str(path), cluster="other") as cluster:
        assert cluster.find([ObjectKey("v1", "Namespace", "kserve")], OWNER)[0].state == OURS


def test_unusable_kubeconfigs_and_servers_raise_cluster_unreachable(tmp_path, server, monkeypatch):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(kubeconfig(server)))
    with pytest.raises(ClusterUnreachable, match="401"):
        with connect(str(path), context="broken") as cluster:
            cluster.find([ObjectKey("v1", "Namespace", "kserve")], OWNER)
    with pytest.raises(ClusterUnreachable, match="no context"):
        connect(str(path), context="nope", cluster="local")
    with pytest.raises(ClusterUnreachable):
        connect("not: [a kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(ClusterUnreachable, match="no kubeconfig file"):
        connect(context="ctx")
    # Nothing listens on port 1.
    path.write_text(yaml.safe_dump(kubeconfig("http://127.0.0.1:1")))
    with connect(str(path), timeout=2) as cluster:
        cluster.api.configuration.retries = 0
        with pytest.raises(ClusterUnreachable, match="does not answer"):
            cluster.find([ObjectKey("v1", "Namespace", "kserve")], OWNER)


def test_namespace_contents_leaves_out_defaults_and_this_stacks_objects(kubeconfig_file):
    with connect(str(kubeconfig_file)) as cluster:
        assert cluster.namespace_contents("cert-manager", OWNER) == [
            "ConfigMap/users-config", "Secret/cert-manager-webhook-ca", "Deployment/cert-manager"]
        assert "ConfigMap/ours" in cluster.namespace_contents("cert-manager")


def test_cert_manager_and_kserve_installations(kubeconfig_file):
    with connect(str(kubeconfig_file)) as cluster:
        cm = cluster.cert_manager()
        kserve = cluster.kserve()
    assert (cm.present, cm.version, cm.namespace, cm.complete) == (True, "v1.16.1", "cert-manager", False)
    assert cm.missing == ("an available webhook pod",)
    assert "Helm release ?/" not in " ".join(cm.managers)
    assert (kserve.present, kserve.version, kserve.namespace) == (True, "v0.19.0", "kserve")
    assert kserve.managers == ("Helm release kserve/kserve-crd",)
    assert "ConfigMap kserve/inferenceservice-config" in kserve.evidence
    assert kserve.missing == ("kserve-controller-manager Deployment (a controller outside the cluster cannot be seen)",)


def test_keda_and_knative_installations(kubeconfig_file):
    with connect(str(kubeconfig_file)) as cluster:
        keda = cluster.keda()
        knative = cluster.knative_serving()
    assert (keda.complete, keda.version, keda.namespace) == (True, "2.18.0", "keda")
    assert (knative.present, knative.complete, knative.version) == (True, False, "1.21.1")
    assert knative.missing == ("Knative Serving activator Deployment",)


def test_only_get_requests_with_the_kubeconfigs_token(kubeconfig_file):
    FakeApiServer.seen.clear()
    with connect(str(kubeconfig_file)) as cluster:
        cluster.find(KEYS, OWNER)
    assert FakeApiServer.seen and {auth for _, auth in FakeApiServer.seen} == {f"Bearer {TOKEN}"}
    # Discovery once per group version.
    assert [p for p, _ in FakeApiServer.seen].count("/api/v1") == 1


def test_no_pulumi_import():
    import ast
    from pathlib import Path

    import kserve_intel.online.cluster as module

    tree = ast.parse(Path(module.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any(n.split(".")[0] == "pulumi" for n in names)
