"""The local cluster itself: fake Intel nodes, storage, scheduling, Pod Security, and KServe's
real webhooks and controller (RawDeployment/Standard mode)."""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from engine.localcluster import NEVER_READY_LABEL, PLATFORM_LABEL, LocalCluster
from kserve_intel.catalog.platforms import GAUDI, GAUDI3, XEON
from kserve_intel.catalog.kserve import release

pytestmark = pytest.mark.e2e

GROUP, VERSION = "serving.kserve.io", "v1beta1"


def wait(what: str, check: Callable[[], Any], timeout: float = 60, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@pytest.fixture
def namespace(kube) -> str:
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(kube)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait("default service account", lambda: any(
        sa.metadata.name == "default" for sa in core.list_namespaced_service_account(name).items))
    yield name
    core.delete_namespace(name)


def _ready(conditions) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in conditions or [])


@pytest.mark.parametrize("platform,profile", [("xeon", XEON), ("gaudi2", GAUDI), ("gaudi3", GAUDI3)])
def test_nodes_of_each_platform(kube, local_cluster: LocalCluster, platform, profile):
    nodes = client.CoreV1Api(kube).list_node(label_selector=f"{PLATFORM_LABEL}={platform}").items
    assert sorted(n.metadata.name for n in nodes) == local_cluster.node_names(platform)
    assert len(nodes) >= 2
    for node in nodes:
        assert _ready(node.status.conditions), node.metadata.name
        for key, value in profile.node_selector.items():
            assert node.metadata.labels.get(key) == value
        taints = node.spec.taints or []
        for tol in profile.tolerations:
            assert any(t.key == tol["key"] and t.effect == tol["effect"] for t in taints)
        if profile.accelerator:
            assert node.status.capacity[profile.accelerator] == "8"
            assert node.status.allocatable[profile.accelerator] == "8"
            # Room for a full node of the biggest pod shape (eight ranks).
            per_pod = profile.pod_resources(8)["requests"]
            assert int(node.status.allocatable["cpu"]) >= int(per_pod["cpu"])
        else:
            assert not taints
            assert int(node.status.allocatable["cpu"]) >= 4 * int(profile.resources.requests["cpu"])


def test_habana_runtime_class(kube):
    assert client.NodeV1Api(kube).read_runtime_class("habana").handler == "habana"


@pytest.mark.parametrize("storage_class,mode", [(None, "ReadWriteOnce"), ("local-storage", "ReadWriteMany")])
def test_claim_of_any_class_and_size_binds(kube, namespace, storage_class, mode):
    core = client.CoreV1Api(kube)
    core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="cache"),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=[mode], storage_class_name=storage_class,
            resources=client.V1VolumeResourceRequirements(requests={"storage": "500Gi"}))))
    pvc = wait("claim bound", lambda: (
        c := core.read_namespaced_persistent_volume_claim("cache", namespace)).status.phase == "Bound" and c)
    assert pvc.status.capacity["storage"] == "500Gi"
    pv = core.read_persistent_volume(pvc.spec.volume_name)
    assert pv.spec.claim_ref.name == "cache"


def _gaudi_pod_spec(labels: dict[str, str] | None = None) -> client.V1PodTemplateSpec:
    res = GAUDI.pod_resources(2)
    return client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels={"app": "gaudi-test", **(labels or {})}),
        spec=client.V1PodSpec(
            node_selector=dict(GAUDI.node_selector),
            tolerations=[client.V1Toleration(**t) for t in GAUDI.tolerations],
            runtime_class_name=GAUDI.runtime_class_name,
            containers=[client.V1Container(
                name="vllm", image=GAUDI.image,
                resources=client.V1ResourceRequirements(requests=res["requests"], limits=res["limits"]))]))


def test_gaudi_deployment_is_scheduled_and_ready(kube, namespace):
    apps, core = client.AppsV1Api(kube), client.CoreV1Api(kube)
    apps.create_namespaced_deployment(namespace, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="gaudi-test"),
        spec=client.V1DeploymentSpec(replicas=2, selector=client.V1LabelSelector(match_labels={"app": "gaudi-test"}),
                                     template=_gaudi_pod_spec())))
    wait("deployment available", lambda: (apps.read_namespaced_deployment("gaudi-test", namespace)
                                          .status.available_replicas or 0) == 2)
    pods = core.list_namespaced_pod(namespace, label_selector="app=gaudi-test").items
    assert len(pods) == 2
    for pod in pods:
        # platforms.py gives Gaudi2 and Gaudi3 one node selector (the NFD PCI label): either fits.
        assert pod.spec.node_name.split("-")[0] in ("gaudi2", "gaudi3"), pod.spec.node_name
        assert pod.status.phase == "Running" and _ready(pod.status.conditions)
        assert pod.status.pod_ip


def test_pod_labelled_never_ready_stays_unready(kube, namespace):
    core = client.CoreV1Api(kube)
    template = _gaudi_pod_spec({NEVER_READY_LABEL: "true"})
    core.create_namespaced_pod(namespace, client.V1Pod(metadata=client.V1ObjectMeta(
        name="stuck", labels=template.metadata.labels), spec=template.spec))
    wait("pod scheduled", lambda: core.read_namespaced_pod("stuck", namespace).spec.node_name)
    time.sleep(3)
    assert not _ready(core.read_namespaced_pod("stuck", namespace).status.conditions)


def test_restricted_namespace_rejects_privileged_pod(kube, namespace):
    core = client.CoreV1Api(kube)
    core.patch_namespace(namespace, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name="privileged"), spec=client.V1PodSpec(containers=[
        client.V1Container(name="c", image="busybox",
                           security_context=client.V1SecurityContext(privileged=True))]))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(namespace, pod)
    assert err.value.status == 403
    assert "violates PodSecurity" in err.value.body


def _runtime(fmt: str) -> dict:
    return {
        "apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
        "metadata": {"name": "test-vllm"},
        "spec": {
            "supportedModelFormats": [{"name": fmt, "autoSelect": True}],
            "protocolVersions": ["v1"],
            "containers": [{"name": "kserve-container", "image": "example.invalid/vllm:test",
                            "args": ["--port", "8080"], "ports": [{"containerPort": 8080, "protocol": "TCP"}]}],
        },
    }


def _isvc(name: str, kserve: str, fmt: str, *, mode_annotation: bool = True, **predictor: Any) -> dict:
    rel = release(kserve)
    annotations = {"serving.kserve.io/autoscalerClass": rel.autoscaler_class_off}
    if mode_annotation:
        annotations["serving.kserve.io/deploymentMode"] = rel.raw_mode
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "InferenceService",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"predictor": {"model": {"modelFormat": {"name": fmt}, "storageUri": "pvc://cache/model"},
                               **predictor}},
    }


def test_inferenceservice_defaulted_deployed_and_ready(kube, namespace, kserve_version):
    custom, apps = client.CustomObjectsApi(kube), client.AppsV1Api(kube)
    core = client.CoreV1Api(kube)
    core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="cache"),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"], resources=client.V1VolumeResourceRequirements(requests={"storage": "10Gi"}))))
    custom.create_namespaced_custom_object(GROUP, "v1alpha1", namespace, "servingruntimes", _runtime("e2e-format"))
    created = custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "inferenceservices",
                                                     _isvc("tiny", kserve_version, "e2e-format", mode_annotation=False))
    # KServe's defaulting webhook set the mode from inferenceservice-config (raw: no Knative here).
    assert created["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == release(kserve_version).raw_mode
    deployment = wait("predictor deployment", lambda: next(iter(
        apps.list_namespaced_deployment(namespace, label_selector="serving.kserve.io/inferenceservice=tiny").items),
        None), timeout=90)
    assert deployment.spec.template.spec.containers[0].image == "example.invalid/vllm:test"

    def isvc_ready() -> bool:
        obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "inferenceservices", "tiny")
        return any(c["type"] == "Ready" and c["status"] == "True" for c in obj.get("status", {}).get("conditions", []))
    try:
        wait("InferenceService Ready", isvc_ready, timeout=120)
    except AssertionError:
        obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "inferenceservices", "tiny")
        raise AssertionError(f"not Ready: {obj.get('status')}")


def test_invalid_inferenceservice_rejected_by_kserve_webhook(kube, namespace, kserve_version):
    custom = client.CustomObjectsApi(kube)
    bad = _isvc("bad", kserve_version, "e2e-format", minReplicas=5, maxReplicas=2)
    with pytest.raises(ApiException) as err:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "inferenceservices", bad)
    assert err.value.status in (400, 403, 422)
    assert "inferenceservice.kserve-webhook-server.validator" in err.value.body, err.value.body


def test_kserve_controller_restart(kube, local_cluster: LocalCluster, namespace, kserve_version):
    """stop_component/start_component: webhooks fail closed while KServe is down, answer after."""
    custom = client.CustomObjectsApi(kube)
    local_cluster.stop_component("kserve")
    try:
        with pytest.raises(ApiException) as err:
            custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "inferenceservices",
                                                   _isvc("while-down", kserve_version, "e2e-format"))
        assert "failed calling webhook" in err.value.body
    finally:
        local_cluster.start_component("kserve")
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "inferenceservices",
                                           _isvc("after-restart", kserve_version, "e2e-format"))
