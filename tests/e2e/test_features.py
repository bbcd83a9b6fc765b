"""Layer 5: bad config through the real CLI, and the optional features on the local cluster.

One cluster (KServe v0.20.0) for the module. The features run for real where the local cluster can host
them: monitoring (PodMonitor, PrometheusRule, Grafana dashboard), KEDA autoscaling against the cluster's
KEDA CRDs (`keda.install: false`, nothing scales: no KEDA controller), Gateway API and ingress routes,
APISIX routes, the GenAI gateway list, the network policy and a canary (Standard mode). Serverless mode
needs Knative's controllers and gateway, which are not built here: it stays covered offline (schemas).
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine.localcluster import LocalCluster, build_engine
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import build_plan
from tests.e2e.pulumi_cli import PulumiCLI, steps_by_op
from tests.e2e.test_stacks import TOKEN, api_path, isvc_conditions, rendered_objects, subset_mismatches

VERSION = "v0.20.0"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    bins = build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.20"))
    with LocalCluster(bins, kserve_version=VERSION) as cluster:
        yield cluster, PulumiCLI(bins, cluster.kubeconfig, tmp_path_factory.mktemp("pulumi-features"))


BAD = {
    "platform": "gaudi3",
    "kserve": {"version": VERSION, "install": False, "deploymentMode": "Standard"},
    "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "tensorParallelSize": 16}],
    "validateToken": False,
}


def test_bad_config_fails_with_the_one_message_and_registers_nothing(env) -> None:
    cluster, cli = env
    cli.init("e2e-bad", BAD)
    raw = {f"kserve-intel:{k}": json.dumps(v) if not isinstance(v, str) else v for k, v in BAD.items()}
    with pytest.raises(ConfigError) as offline:
        build_plan(load_config(raw))
    message = str(offline.value)
    for command in (cli.preview("e2e-bad", check=False), cli.up("e2e-bad", check=False)):
        assert command.returncode != 0
        assert command.output.count("invalid stack configuration") == 1, command.output[-3000:]
        for line in message.splitlines():
            assert line.strip() in command.output, (line, command.output[-3000:])
    kinds = {r["type"] for r in cli.resources("e2e-bad")}
    assert kinds <= {"pulumi:pulumi:Stack"}, kinds


def test_a_stack_with_no_config_gets_the_programs_own_message(env) -> None:
    """The language host hands the program `{}`, not `null` (the SDK crashed on null before our message)."""
    cluster, cli = env
    cli.init("e2e-empty", {})
    command = cli.preview("e2e-empty", check=False)
    assert command.returncode != 0
    assert "kserve-intel:platform: is required; allowed: xeon, gaudi, gaudi3" in command.output, command.output[-3000:]
    assert "Traceback" not in command.output and "NoneType" not in command.output, command.output[-3000:]
    assert {r["type"] for r in cli.resources("e2e-empty")} <= {"pulumi:pulumi:Stack"}


FEATURES = {
    "platform": "gaudi3",
    "kserve": {"version": VERSION, "install": False, "deploymentMode": "Standard"},
    "namespace": "intel-features",
    "validateToken": False,
    "models": [
        {"id": "Qwen/Qwen2.5-7B-Instruct", "name": "qwen-7b",
         "canary": {"trafficPercent": 10, "extraArgs": ["--max-num-seqs", "64"]}},
        {"id": "meta-llama/Llama-3.1-8B-Instruct", "name": "llama-8b"},
    ],
    "storage": {"size": "50Gi", "accessMode": "ReadWriteMany"},
    "autoscaling": {"enabled": True, "engine": "hpa", "minReplicas": 1, "maxReplicas": 2},
    "monitoring": {"enabled": True},
    "ingress": {"enabled": True},
    "gatewayApi": {"enabled": True, "gateway": {"name": "inference", "namespace": "gateways"}},
    "networkPolicy": {"enabled": True},
}


@contextmanager
def ingress_controller(cluster: LocalCluster, namespace: str):
    """What an ingress controller does that the provider's Ingress await waits for: publish an address.

    The local cluster runs no ingress controller, so the test plays one: every Ingress of the namespace
    gets `status.loadBalancer.ingress[0].ip = 127.0.0.1`.
    """
    stop = threading.Event()

    def publish() -> None:
        while not stop.wait(1):
            status, listed = cluster.api.request("GET", f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses")
            for ing in (listed or {}).get("items", []) if status == 200 else []:
                if not ing.get("status", {}).get("loadBalancer", {}).get("ingress"):
                    cluster.api.request(
                        "PATCH", f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/"
                        f"{ing['metadata']['name']}/status",
                        {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}},
                        content_type="application/merge-patch+json")

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def test_optional_features_reach_the_api_server(env) -> None:
    cluster, cli = env
    cli.init("e2e-features", FEATURES, secrets={"hfToken": TOKEN})
    preview = steps_by_op(cli.preview("e2e-features").json())
    created = " ".join(preview.get("create", []))
    for kind in ("PodMonitor::", "PrometheusRule::", "HTTPRoute::", "Ingress::",
                 "NetworkPolicy::", "InferenceService::"):
        assert kind in created, (kind, preview)
    started = time.monotonic()
    with ingress_controller(cluster, "intel-features"):
        cli.up("e2e-features")
    print(f"\n[features] up in {time.monotonic() - started:.0f}s")
    for name in ("qwen-7b", "llama-8b"):
        assert isvc_conditions(cluster, "intel-features", name).get("Ready") == "True", name
    hpas = cluster.api.ok("GET", "/apis/autoscaling/v2/namespaces/intel-features/horizontalpodautoscalers")["items"]
    assert {"qwen-7b-predictor", "llama-8b-predictor"} <= {h["metadata"]["name"] for h in hpas}
    cluster.api.ok("GET", "/apis/apps/v1/namespaces/intel-features/deployments/qwen-7b-canary-predictor")
    mismatches: list[str] = []
    for obj in rendered_objects(FEATURES, "e2e-features"):
        stored = cluster.api.ok("GET", api_path(obj))
        want = {k: v for k, v in obj.items() if k not in ("stringData", "data")}
        mismatches += [f"{obj['kind']}/{obj['metadata']['name']}{m}" for m in subset_mismatches(want, stored)]
    assert not mismatches, "\n".join(mismatches[:40])
    cli.run("preview", "--expect-no-changes", stack="e2e-features")
    started = time.monotonic()
    cli.destroy("e2e-features")
    print(f"[features] destroy in {time.monotonic() - started:.0f}s")


KEDA = {
    "platform": "xeon",
    "kserve": {"version": VERSION, "install": False, "deploymentMode": "Standard"},
    "namespace": "intel-keda",
    "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "name": "qwen-7b"}],
    "autoscaling": {"enabled": True, "engine": "keda", "minReplicas": 1, "maxReplicas": 3,
                    "keda": {"install": False}},
}


def test_keda_autoscaling_gets_a_scaled_object_from_kserve(env) -> None:
    """KServe v0.20 builds the ScaledObject itself from the InferenceService's autoscaling settings."""
    cluster, cli = env
    cli.init("e2e-keda", KEDA)
    cli.up("e2e-keda")
    assert isvc_conditions(cluster, "intel-keda", "qwen-7b").get("Ready") == "True"
    scaled = cluster.api.ok("GET", "/apis/keda.sh/v1alpha1/namespaces/intel-keda/scaledobjects")["items"]
    (obj,) = [s for s in scaled if s["metadata"]["name"] == "qwen-7b-predictor"]
    assert (obj["spec"]["minReplicaCount"], obj["spec"]["maxReplicaCount"]) == (1, 3)
    assert obj["spec"]["triggers"], obj["spec"]
    cli.destroy("e2e-keda")


TWO_STACKS = {
    "platform": "xeon",
    "kserve": {"version": VERSION, "install": False, "deploymentMode": "Standard"},
    "namespace": "intel-stacks",
    "storage": {"enabled": False, "size": "20Gi"},
    "models": [
        {"id": "Qwen/Qwen3-4B-Instruct-2507", "name": "qwen3-4b"},
        {"id": "deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "name": "r1-llama-8b", "servingStack": "vllm-0.10"},
    ],
}


def _predictor_image(cluster: LocalCluster, namespace: str, model: str) -> str:
    deployment = cluster.api.ok("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{model}-predictor")
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "kserve-container"]
    return container["image"]


def test_models_on_two_serving_stacks_run_their_own_runtimes(env) -> None:
    """models[].servingStack: one runtime per stack in use; KServe merges each model with its own runtime."""
    from kserve_intel.catalog.serving_stacks import STACKS

    cluster, cli = env
    cli.init("e2e-stacks", TWO_STACKS)
    started = time.monotonic()
    cli.up("e2e-stacks")
    print(f"\n[two stacks] up in {time.monotonic() - started:.0f}s")
    for name in ("qwen3-4b", "r1-llama-8b"):
        assert isvc_conditions(cluster, "intel-stacks", name).get("Ready") == "True", name
    runtimes = {r["metadata"]["name"]: r for r in
                cluster.api.ok("GET", "/apis/serving.kserve.io/v1alpha1/clusterservingruntimes")["items"]}
    assert runtimes["intel-xeon-vllm-0-10"]["metadata"]["labels"]["kserve-intel/serving-stack"] == "vllm-0.10"
    assert runtimes["intel-vllm-xeon"]["metadata"]["labels"]["kserve-intel/serving-stack"] == "vllm-0.33"
    # The real controller built each predictor Deployment from the runtime the model names.
    assert _predictor_image(cluster, "intel-stacks", "qwen3-4b") == STACKS["vllm-0.33"].image
    assert _predictor_image(cluster, "intel-stacks", "r1-llama-8b") == STACKS["vllm-0.10"].image
    outputs = cli.outputs("e2e-stacks")
    assert [(r["name"], r["models"]) for r in outputs["runtimes"]] == [
        ("intel-vllm-xeon", ["qwen3-4b"]), ("intel-xeon-vllm-0-10", ["r1-llama-8b"])]
    cli.run("preview", "--expect-no-changes", stack="e2e-stacks")

    # Move the old model to the stack-wide stack: its InferenceService is updated, the unused runtime deleted.
    old_model = {k: v for k, v in TWO_STACKS["models"][1].items() if k != "servingStack"}
    moved = {**TWO_STACKS, "models": [TWO_STACKS["models"][0], old_model]}
    cli.set_config("e2e-stacks", moved)
    steps = steps_by_op(cli.preview("e2e-stacks").json())
    assert steps.get("update") == ["InferenceService::inferenceservice-intel-stacks-r1-llama-8b"], steps
    assert steps.get("delete") == ["ClusterServingRuntime::clusterservingruntime-intel-xeon-vllm-0-10"], steps
    assert not steps.get("create") and not steps.get("replace"), steps
    cli.up("e2e-stacks")
    assert _predictor_image(cluster, "intel-stacks", "r1-llama-8b") == STACKS["vllm-0.33"].image
    assert cluster.api.request("GET", "/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/intel-xeon-vllm-0-10")[0] == 404
    cli.destroy("e2e-stacks")


BACKENDS = {
    "platform": "xeon",
    "kserve": {"version": VERSION, "install": False, "deploymentMode": "Standard"},
    "namespace": "intel-backends",
    "storage": {"size": "20Gi"},
    "networkPolicy": {"enabled": True},
    "models": [
        # Served names are unique across models; TGI serves under the id, the others under their names.
        {"id": "Qwen/Qwen3-1.7B", "name": "q-vllm", "servedModelName": "q-vllm"},
        {"id": "Qwen/Qwen3-1.7B", "name": "q-tgi", "backend": "tgi"},
        {"id": "Qwen/Qwen3-1.7B", "name": "q-ovms", "servedModelName": "q-ovms", "backend": "ovms"},
        {"id": "Qwen/Qwen3-1.7B", "name": "q-own", "servedModelName": "q-own", "backend": "own"},
    ],
    "runtimes": {"custom": [{"name": "own", "image": "registry.local/own-server:1.0", "platforms": ["xeon"],
                             "args": ["--model", "$(MODEL_ID)", "--listen", "0.0.0.0:8081"], "port": 8081,
                             "healthPath": "/healthz", "openaiBasePath": "/v3"}]},
}


def _predictor_container(cluster: LocalCluster, namespace: str, model: str) -> dict:
    deployment = cluster.api.ok("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/{model}-predictor")
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "kserve-container"]
    return container


def test_backends_reach_kserve_and_each_model_runs_its_own_runtime(env) -> None:
    """TGI, OVMS and a custom runtime beside vLLM: the real controller merges each model with its runtime."""
    from kserve_intel.catalog.serving_stacks import STACKS

    cluster, cli = env
    cli.init("e2e-backends", BACKENDS)
    preview = cli.preview("e2e-backends")
    assert "maintenance mode" in preview.output  # the TGI warning reaches the user
    started = time.monotonic()
    cli.up("e2e-backends")
    print(f"\n[backends] up in {time.monotonic() - started:.0f}s")
    for name in ("q-vllm", "q-tgi", "q-ovms", "q-own"):
        assert isvc_conditions(cluster, "intel-backends", name).get("Ready") == "True", name
    tgi = _predictor_container(cluster, "intel-backends", "q-tgi")
    assert tgi["image"] == STACKS["tgi-3.3"].image and tgi["command"] == ["text-generation-launcher"]
    assert tgi["args"][:5] == ["--hostname", "0.0.0.0", "--port", "8080", "--json-output"]
    assert tgi["args"][5:9] == ["--model-id", "Qwen/Qwen3-1.7B", "--num-shard", "1"]
    ovms = _predictor_container(cluster, "intel-backends", "q-ovms")
    assert ovms["image"] == STACKS["ovms-2026.3"].image and "command" not in ovms
    assert ovms["args"][-4:] == ["--source_model", "OpenVINO/Qwen3-1.7B-int4-ov", "--model_name", "q-ovms"]
    assert ovms["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    own = _predictor_container(cluster, "intel-backends", "q-own")
    assert own["ports"][0]["containerPort"] == 8081 and own["readinessProbe"]["httpGet"]["port"] == 8081
    assert {e["name"]: e.get("value") for e in own["env"]}["MODEL_ID"] == "Qwen/Qwen3-1.7B"
    assert own["securityContext"]["runAsNonRoot"] is True and own["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    policy = cluster.api.ok("GET", "/apis/networking.k8s.io/v1/namespaces/intel-backends/networkpolicies")["items"]
    assert {p["port"] for p in policy[0]["spec"]["ingress"][0]["ports"]} == {8080, 8081}
    outputs = cli.outputs("e2e-backends")
    assert [r["name"] for r in outputs["runtimes"]] == [
        "intel-vllm-xeon", "intel-xeon-tgi-3-3", "intel-xeon-ovms-2026-3", "intel-xeon-own"]
    urls = {m["name"]: m["openaiBaseUrl"] for m in outputs["models"]}
    assert urls["q-own"].endswith("/v3") and urls["q-tgi"].endswith("/v1")
    cli.run("preview", "--expect-no-changes", stack="e2e-backends")
    cli.destroy("e2e-backends")


TGI_GAUDI = {
    "platform": "gaudi3",
    "kserve": {"version": VERSION, "install": False, "deploymentMode": "Standard"},
    "namespace": "intel-tgi",
    "backend": "tgi",
    "storage": {"size": "50Gi"},
    "models": [{"id": "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "name": "r1-32b"}],
}


def test_tgi_on_gaudi_shards_over_the_cards_kserve_schedules(env) -> None:
    cluster, cli = env
    cli.init("e2e-tgi-gaudi", TGI_GAUDI)
    cli.up("e2e-tgi-gaudi")
    assert isvc_conditions(cluster, "intel-tgi", "r1-32b").get("Ready") == "True"
    c = _predictor_container(cluster, "intel-tgi", "r1-32b")
    args = c["args"]
    assert args[args.index("--num-shard") + 1] == "2" and args[args.index("--sharded") + 1] == "true"
    assert args[args.index("--max-batch-size") + 1] == "64"
    assert {e["name"]: e.get("value") for e in c["env"]}["PT_HPU_ENABLE_LAZY_COLLECTIVES"] == "1"
    assert c["resources"]["limits"]["habana.ai/gaudi"] == "2"
    pods = cluster.api.ok("GET", "/api/v1/namespaces/intel-tgi/pods")["items"]
    assert pods and all(p["spec"]["nodeName"].startswith("gaudi") for p in pods), [p["spec"].get("nodeName") for p in pods]
    cli.destroy("e2e-tgi-gaudi")
