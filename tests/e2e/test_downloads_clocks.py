"""Issue 22, classes 5 and 6 through the real CLI, provider and KServe v0.20.0 controller on the local cluster.

One stack with an in-cluster hub mirror on a private address and port 8080 (the issue's example that the
default `egress.hub: direct` blocked silently), a gated hub adapter with a pinned revision on storageUris, and
two models with different readyTimeoutMinutes on one shared ClusterServingRuntime. What the API server stored
and what KServe's own controller and webhook made of it show:

- the NetworkPolicy opens 10.20.0.5/32 on 8080;
- the storage initializer KServe injected into the predictor pod carries HF_ENDPOINT (our named
  ClusterStorageContainer, merged by KServe) beside HF_TOKEN, and vLLM's container carries HF_ENDPOINT;
- the kserve-container of each model's pod has its own startup probe window (KServe merged the
  InferenceService's probe over the shared runtime's): 150 minutes and the Xeon default 90;
- a mirror named by a DNS name on port 8080 is refused by `up` before anything is registered, naming hfEndpoint;
- why a Standard-mode canary's adapters are not put on storageUris: KServe v0.20.0 gives the canary's pod no
  storage initializer for them, while the stable pod of the same InferenceService gets one.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

import pytest

from engine.localcluster import LocalCluster, build_engine
from tests.e2e.pulumi_cli import PulumiCLI
from tests.e2e.test_stacks import TOKEN, isvc_conditions

MIRROR = "http://10.20.0.5:8080"
NAMESPACE = "e2e-downloads"


@pytest.fixture(scope="module")
def bins():
    return build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.20", "kserve-v0.13"))


@pytest.fixture(scope="module")
def cluster(request, bins):
    if request.getfixturevalue("kserve_version") == "v0.20.0":
        yield request.getfixturevalue("local_cluster")
        return
    own = LocalCluster(bins, kserve_version="v0.20.0")
    own.start()
    try:
        yield own
    finally:
        own.stop()


def config(**extra) -> dict:
    return {
        "platform": "xeon",
        "kserve": {"version": "v0.20.0", "install": False},
        "namespace": NAMESPACE,
        "validateToken": False,  # no route to a hub from here
        "hfEndpoint": MIRROR,
        "models": [
            {"id": "Qwen/Qwen3-1.7B", "readyTimeoutMinutes": 150,
             "adapters": [{"name": "sql", "id": "example-org/qwen3-sql-lora", "revision": "v1", "gated": True}]},
            "Qwen/Qwen3-4B-Instruct-2507",
        ],
        **extra,
    }


def pod_of(cluster: LocalCluster, name: str) -> dict:
    pods = cluster.api.ok("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")["items"]
    (pod,) = [p for p in pods if p["metadata"]["name"].startswith(f"{name}-predictor")
              and not p["metadata"].get("deletionTimestamp")]
    return pod


def container(pod: dict, name: str, init: bool = False) -> dict:
    (found,) = [c for c in pod["spec"].get("initContainers" if init else "containers", []) if c["name"] == name]
    return found


def env_of(c: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def test_downloads_use_the_mirror_and_every_wait_follows_ready_timeout(cluster, bins, tmp_path) -> None:
    cli = PulumiCLI(bins, cluster.kubeconfig, tmp_path / "pulumi")
    stack = "e2e-downloads"
    cli.init(stack, config(), secrets={"hfToken": TOKEN})
    cli.up(stack)
    try:
        for name in ("qwen3-1-7b", "qwen3-4b-instruct-2507"):
            assert isvc_conditions(cluster, NAMESPACE, name).get("Ready") == "True", name

        # Class 5, the network policy: the mirror's own address and port are open.
        policy = cluster.api.ok("GET", f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies/"
                                       "kserve-intel-vllm")
        assert {"to": [{"ipBlock": {"cidr": "10.20.0.5/32"}}], "ports": [{"protocol": "TCP", "port": 8080}]} in \
            policy["spec"]["egress"], policy["spec"]["egress"]

        # Class 5, the storage initializer: KServe picked our named container and merged its env.
        name = f"kserve-intel-hf-mirror-{NAMESPACE}"
        stored = cluster.api.ok("GET", f"/apis/serving.kserve.io/v1alpha1/clusterstoragecontainers/{name}")
        assert env_of(stored["spec"]["container"])["HF_ENDPOINT"] == MIRROR
        isvc = cluster.api.ok("GET", f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/"
                                     "qwen3-1-7b")
        assert isvc["spec"]["predictor"]["storageContainerName"] == name
        pod = pod_of(cluster, "qwen3-1-7b")
        init = container(pod, "storage-initializer", init=True)
        assert init["args"][:2] == ["hf://example-org/qwen3-sql-lora:v1", "/mnt/lora/0-sql"], init["args"]
        env = env_of(init)
        assert env.get("HF_ENDPOINT") == MIRROR, init.get("env")
        assert env.get("HF_TOKEN") == {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}, init.get("env")
        server = container(pod, "kserve-container")
        assert env_of(server)["HF_ENDPOINT"] == MIRROR

        # Class 6: one shared runtime, each pod with its own model's startup window (KServe's merge).
        runtime = cluster.api.ok("GET", "/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/intel-vllm-xeon")
        assert runtime["spec"]["containers"][0]["startupProbe"]["failureThreshold"] == 180  # 90 minutes
        for model, minutes in (("qwen3-1-7b", 150), ("qwen3-4b-instruct-2507", 90)):
            probe = container(pod_of(cluster, model), "kserve-container")["startupProbe"]
            assert probe["periodSeconds"] * probe["failureThreshold"] == minutes * 60, (model, probe)
            assert probe["httpGet"]["path"] == "/health"
        cli.run("preview", "--diff", "--expect-no-changes", stack=stack)
        standard_canary_pods_get_no_storage_initializer_for_storage_uris(cluster)
    finally:
        cli.destroy(stack)


def standard_canary_pods_get_no_storage_initializer_for_storage_uris(cluster: LocalCluster) -> None:
    """KServe's own behaviour, shown with a raw InferenceService on the stack's runtime (deleted after)."""
    path = f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices"
    model = {"modelFormat": {"name": "vllm-intel-xeon"}, "runtime": "intel-vllm-xeon",
             "args": ["--model", "/mnt/lora/a"],
             "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}
    uris = [{"uri": "hf://example-org/qwen3-sql-lora", "mountPath": "/mnt/lora/a"}]
    cluster.api.ok("POST", path, {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "canary-probe", "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
        # (As builders/canary.py: the v0.20 CRD wants the container name in a canary's model, and the stable
        # predictor's validator refuses it there.)
        "spec": {"predictor": {"model": dict(model), "storageUris": uris, "minReplicas": 1},
                 "canary": [{"trafficPercent": 10, "predictor": {
                     "name": "v2", "model": {"name": "kserve-container", **model}, "storageUris": uris}}]},
    })
    try:
        deadline = time.monotonic() + 120
        pods: dict[str, dict] = {}
        while time.monotonic() < deadline and len(pods) < 2:
            items = cluster.api.ok("GET", f"/api/v1/namespaces/{NAMESPACE}/pods?labelSelector="
                                          "serving.kserve.io/inferenceservice%3Dcanary-probe")["items"]
            pods = {("canary" if "-v2-" in p["metadata"]["name"] else "stable"): p for p in items}
            time.sleep(2)
        assert set(pods) == {"stable", "canary"}, sorted(p["metadata"]["name"] for p in pods.values())
        inits = {k: [c["name"] for c in p["spec"].get("initContainers", [])] for k, p in pods.items()}
        assert "storage-initializer" in inits["stable"], inits
        assert "storage-initializer" not in inits["canary"], inits
    finally:
        cluster.api.request("DELETE", f"{path}/canary-probe")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and cluster.api.request("GET", f"{path}/canary-probe")[0] == 200:
            time.sleep(2)


def test_a_mirror_the_policy_cannot_open_is_refused_before_anything_is_registered(cluster, bins, tmp_path) -> None:
    cli = PulumiCLI(bins, cluster.kubeconfig, tmp_path / "pulumi")
    stack = "e2e-downloads-refused"
    cli.init(stack, config(hfEndpoint="http://hf-mirror.corp.example:8080", namespace="e2e-downloads-refused"),
             secrets={"hfToken": TOKEN})
    failed = cli.run("up", "--yes", "--skip-preview", stack=stack, check=False)
    assert failed.returncode != 0
    text = failed.output
    assert 'kserve-intel:hfEndpoint = "http://hf-mirror.corp.example:8080"' in text, text[-3000:]
    assert "networkPolicy.egress.allowTo [{cidr: <its address range>, port: 8080}]" in text
    assert not [r for r in cli.resources(stack) if r["type"].startswith("kubernetes:")]
    namespaces = cluster.api.ok("GET", "/api/v1/namespaces")["items"]
    assert "e2e-downloads-refused" not in {n["metadata"]["name"] for n in namespaces}


def test_kserve_v0_13_merges_each_models_startup_window_too(request, bins, tmp_path) -> None:
    """The other end of the supported range: KServe v0.13.0's MergeRuntimeContainers (strategic merge)."""
    own = request.getfixturevalue("kserve_version") != "v0.13.0"
    with (LocalCluster(bins, kserve_version="v0.13.0") if own else nullcontext(
            request.getfixturevalue("local_cluster"))) as v013:
        cli = PulumiCLI(bins, v013.kubeconfig, tmp_path / "pulumi")
        stack = "e2e-clock-v013"
        cli.init(stack, {"platform": "xeon", "kserve": {"version": "v0.13.0", "install": False},
                         "namespace": NAMESPACE, "validateToken": False, "readyTimeoutMinutes": 100,
                         "models": [{"id": "Qwen/Qwen3-1.7B", "readyTimeoutMinutes": 200}]},
                 secrets={"hfToken": TOKEN})
        cli.up(stack)
        try:
            runtime = v013.api.ok("GET", "/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/intel-vllm-xeon")
            assert runtime["spec"]["containers"][0]["startupProbe"]["failureThreshold"] == 200  # the stack's 100 min
            probe = container(pod_of(v013, "qwen3-1-7b"), "kserve-container")["startupProbe"]
            assert probe["periodSeconds"] * probe["failureThreshold"] == 200 * 60, probe
        finally:
            cli.destroy(stack)
