"""A multi-node model through the real CLI on KServe v0.15.2, the release where it holds.

The local cluster runs KServe v0.15.2's real controller (engine/kserve-v0.15). `up` deploys a model over two
Gaudi2 nodes: KServe creates the head Deployment, the worker Deployment and the head's headless Service, the
model turns Ready, and they stay: reconciles that follow (forced by touching the InferenceService) delete none of
them. The releases where it cannot come up are refused before any resource (also shown here): v0.16-v0.19 never
report it Ready, v0.20.0's canary clean-up deletes the workers on every reconcile (catalog/kserve.py).
The pods are fake (kwok): Ray and vLLM do not run, so the worker's join address is a unit test
(tests/test_scaling_rollout.py).
"""

from __future__ import annotations

import time

import pytest

from engine.localcluster import LocalCluster, build_engine
from tests.e2e.pulumi_cli import PulumiCLI

VERSION = "v0.15.2"
NS = "multinode"
MODEL = "qwen-mn"
CONFIG = {
    "platform": "gaudi",
    "kserve": {"version": VERSION, "install": False},
    "namespace": NS,
    "autoscaling": {"enabled": False},
    "storage": {"size": "100Gi", "accessMode": "ReadWriteMany", "retainOnDestroy": False},
    "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "name": MODEL, "nodes": 2, "tensorParallelSize": 4}],
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    bins = build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.15"))
    started = time.monotonic()
    with LocalCluster(bins, kserve_version=VERSION) as cluster:
        print(f"\n[multinode] cluster with KServe {VERSION} up in {time.monotonic() - started:.0f} s")
        yield cluster, PulumiCLI(bins, cluster.kubeconfig, tmp_path_factory.mktemp("pulumi-multinode"))


def _objects(cluster: LocalCluster) -> dict[str, str]:
    """name -> UID of the Deployments and Services KServe made for the model."""
    out = {}
    selector = f"labelSelector=serving.kserve.io/inferenceservice={MODEL}"
    for plural, group in (("deployments", "/apis/apps/v1"), ("services", "/api/v1")):
        for item in cluster.api.ok("GET", f"{group}/namespaces/{NS}/{plural}?{selector}")["items"]:
            out[f"{plural}/{item['metadata']['name']}"] = item["metadata"]["uid"]
    return out


def _reconciles(cluster: LocalCluster) -> int:
    return cluster.log_path("kserve").read_text().count(f'"{MODEL}"')


def test_a_multinode_model_runs_on_v0_15_and_its_workers_stay(env) -> None:
    cluster, cli = env
    cli.init("mn", CONFIG)
    up = cli.run("up", "--yes", "--skip-preview", stack="mn", timeout=1800)
    isvc = cluster.api.ok("GET", f"/apis/serving.kserve.io/v1beta1/namespaces/{NS}/inferenceservices/{MODEL}")
    generation = isvc["metadata"]["generation"]
    assert {c["type"]: c["status"] for c in isvc["status"]["conditions"]}.get("Ready") == "True"
    objects = _objects(cluster)
    expected = {f"deployments/{MODEL}-predictor", f"deployments/{MODEL}-predictor-worker",
                f"services/{MODEL}-predictor", f"services/{MODEL}-head-{generation}"}
    assert expected <= set(objects), sorted(objects)
    worker = cluster.api.ok("GET", f"/apis/apps/v1/namespaces/{NS}/deployments/{MODEL}-predictor-worker")
    assert worker["spec"]["replicas"] == 1  # nodes - 1
    container = worker["spec"]["template"]["spec"]["containers"][0]
    env_names = {e["name"] for e in container.get("env", [])}
    assert "HEAD_SVC" in env_names and "${HEAD_SVC}" in container["args"][0]

    # Reconciles after the rollout (each touch of the InferenceService is one) keep every object, same UID.
    for round_ in range(3):
        seen = _reconciles(cluster)
        cluster.api.ok("PATCH", f"/apis/serving.kserve.io/v1beta1/namespaces/{NS}/inferenceservices/{MODEL}",
                       {"metadata": {"annotations": {"e2e/touch": str(round_)}}},
                       content_type="application/merge-patch+json")
        deadline = time.monotonic() + 60
        while _reconciles(cluster) <= seen and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _reconciles(cluster) > seen, "the KServe controller did not reconcile the touched InferenceService"
        assert {k: v for k, v in _objects(cluster).items() if k in expected} == \
            {k: v for k, v in objects.items() if k in expected}
    assert "Deleting orphaned predictor" not in cluster.log_path("kserve").read_text()
    assert cli.run("preview", "--expect-no-changes", stack="mn").returncode == 0

    destroy = cli.destroy("mn")
    deadline = time.monotonic() + 120
    while _objects(cluster) and time.monotonic() < deadline:
        time.sleep(1)
    assert _objects(cluster) == {}
    print(f"[multinode] up {up.seconds:.0f} s, destroy {destroy.seconds:.0f} s")


@pytest.mark.parametrize("version, reason", [
    ("v0.20.0", "KServe v0.20.0 cannot run a multi-node model: its canary clean-up (reconcileCanaryDeployments"),
    ("v0.19.0", "KServe v0.19.0 cannot run a multi-node model: its predictor never turns Ready with a worker"),
])
def test_the_same_model_where_it_cannot_come_up_is_refused_before_any_resource(env, version, reason) -> None:
    cluster, cli = env
    stack = f"mn-{version.replace('.', '-')}"
    cli.init(stack, {**CONFIG, "kserve": {**CONFIG["kserve"], "version": version}})
    preview = cli.run("preview", stack=stack, check=False)
    assert preview.returncode != 0
    assert reason in preview.output, preview.output[-3000:]
    assert "Use kserve.version v0.15.2" in preview.output
    assert {r["type"] for r in cli.resources(stack)} <= {"pulumi:pulumi:Stack"}
