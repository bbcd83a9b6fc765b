"""Layer 5: each committed stack through the real Pulumi CLI and provider against the local cluster.

Per stack, on a cluster running the stack's KServe release (pre-installed, so `kserve.install: false`;
`validateToken: false` because the hub cannot be reached from here; everything else as committed):
preview with the policy pack, up, what the API server stored, outputs and secrets, no perpetual diff,
targeted updates, destroy with what it retains, and adoption of the retained objects.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.localcluster import LocalCluster, build_engine
from offline.engine import evaluate
from tests.e2e.pulumi_cli import ORGANIZATION, ROOT, PulumiCLI, steps_by_op, with_images

TOKEN = "hf_e2e_token_value_never_in_plaintext"
ISVC_TYPE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
# Nodes (engine/localcluster.py) a stack's pods may land on. The Gaudi profiles select NFD's PCI vendor
# label, which Gaudi2 and Gaudi3 nodes share: on a mixed cluster a gaudi stack may use Gaudi3 nodes unless
# `runtimes.nodeSelector` pins a generation (docs/configuration.md, runtimes.nodeSelector). Found by this test.
PLATFORM_NODE_PREFIX = {"xeon": ("xeon-",), "gaudi": ("gaudi2-", "gaudi3-"), "gaudi3": ("gaudi3-",)}
DESTROY_BOUND_SECONDS = 300
STACKS = ("xeon", "gaudi", "gaudi3")


def committed_config(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return {k.split(":", 1)[1]: v for k, v in document["config"].items()}


def local_config(stack: str) -> dict[str, Any]:
    """The committed stack, adapted only where the local cluster requires it."""
    config = copy.deepcopy(committed_config(stack))
    kserve = dict(config.get("kserve") or {})
    kserve["install"] = False  # the cluster runs KServe already (its manager as a process)
    kserve.pop("certManager", None)
    kserve.pop("certManagerVersion", None)
    config["kserve"] = kserve
    config["validateToken"] = False  # no route to the Hugging Face hub from here
    return config


def rendered_objects(config: dict[str, Any], stack: str) -> list[dict[str, Any]]:
    """What `make render` writes for this config: the same program under the mocks (with the `images` the
    harness gives every stack on the local cluster: PulumiCLI.init)."""
    raw = {f"kserve-intel:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in with_images(config).items()}
    raw["kserve-intel:hfToken"] = TOKEN
    return evaluate(raw, ["kserve-intel:hfToken"], stack=stack, organization=ORGANIZATION).objects()


def subset_mismatches(want: Any, got: Any, path: str = "") -> list[str]:
    """Fields we set that the server stored otherwise (server-added fields and defaults are fine)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{path}: want an object, stored {got!r}"]
        problems: list[str] = []
        for key, value in want.items():
            problems += subset_mismatches(value, got.get(key), f"{path}.{key}")
        return problems
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: want {len(want)} items, stored {got!r}"[:400]]
        return [p for w, g in zip(want, got) for p in subset_mismatches(w, g, path + "[]")]
    if want != got and str(want) != str(got):
        return [f"{path}: want {want!r}, stored {got!r}"]
    return []


def api_path(obj: dict[str, Any]) -> str:
    """REST path of an object (the kinds the program creates)."""
    group_version = obj["apiVersion"]
    base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    plural = {"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "Secret": "secrets",
              "PersistentVolumeClaim": "persistentvolumeclaims", "ConfigMap": "configmaps",
              "NetworkPolicy": "networkpolicies", "InferenceService": "inferenceservices",
              "ClusterServingRuntime": "clusterservingruntimes", "ServingRuntime": "servingruntimes",
              "PodMonitor": "podmonitors", "ServiceMonitor": "servicemonitors",
              "PrometheusRule": "prometheusrules", "Ingress": "ingresses",
              "HorizontalPodAutoscaler": "horizontalpodautoscalers", "ScaledObject": "scaledobjects",
              "HTTPRoute": "httproutes", "GrafanaDashboard": "grafanadashboards", "Service": "services",
              "Role": "roles", "RoleBinding": "rolebindings", "Deployment": "deployments",
              "Job": "jobs", "TriggerAuthentication": "triggerauthentications"}[obj["kind"]]
    namespace = obj["metadata"].get("namespace")
    scope = f"/namespaces/{namespace}" if namespace else ""
    return f"{base}{scope}/{plural}/{obj['metadata']['name']}"


def isvc_conditions(cluster: LocalCluster, namespace: str, name: str) -> dict[str, str]:
    obj = cluster.api.ok("GET", f"/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/{name}")
    return {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}


@pytest.fixture(scope="session")
def engine_bin_dir_all() -> Path:
    """Every engine binary: the control plane, both KServe managers, the CLI, host and provider."""
    return build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.20", "kserve-v0.13"))


@pytest.fixture(scope="module", params=STACKS)
def stack_env(request, engine_bin_dir_all: Path, tmp_path_factory):
    """A fresh local cluster of the stack's KServe release, and the CLI with the stack initialised."""
    stack = request.param
    config = local_config(stack)
    version = config["kserve"]["version"]
    cluster = LocalCluster(engine_bin_dir_all, kserve_version=version)
    started = time.monotonic()
    cluster.start()
    print(f"\n[{stack}] cluster with KServe {version} started in {time.monotonic() - started:.0f}s")
    cli = PulumiCLI(engine_bin_dir_all, cluster.kubeconfig, tmp_path_factory.mktemp(f"pulumi-{stack}"))
    name = f"e2e-{stack}"
    cli.init(name, config, secrets={"hfToken": TOKEN})
    try:
        yield stack, name, config, cluster, cli
    finally:
        cli.destroy(name, check=False, timeout=600)
        cluster.stop()


def test_stack_lifecycle(stack_env) -> None:
    stack, name, config, cluster, cli = stack_env
    timings: dict[str, float] = {}
    models = [m if isinstance(m, dict) else {"id": m} for m in config["models"]]
    expected = rendered_objects(config, name)
    isvcs = [o for o in expected if o["kind"] == "InferenceService"]
    assert len(isvcs) == len(models)

    # 1. preview with the policy pack: the creates the render predicts, nothing else.
    preview = cli.preview(name)
    timings["preview"] = preview.seconds
    ops = steps_by_op(preview.json())
    created = ops.get("create", [])
    assert sum(1 for s in created if s.startswith("InferenceService::")) == len(models), ops
    assert set(ops) <= {"create", "same"}, ops

    # 2. up: every InferenceService Ready as KServe reports it; pods admitted and placed on the platform.
    up = cli.up(name)
    timings["up"] = up.seconds
    namespace = config.get("namespace", "intel-inference")
    for isvc in isvcs:
        conditions = isvc_conditions(cluster, namespace, isvc["metadata"]["name"])
        assert conditions.get("Ready") == "True", (isvc["metadata"]["name"], conditions)
    pods = cluster.api.ok("GET", f"/api/v1/namespaces/{namespace}/pods")["items"]
    predictors = [p for p in pods if p["metadata"].get("labels", {}).get("component") == "predictor"]
    assert len(predictors) >= len(models), [p["metadata"]["name"] for p in pods]
    for pod in predictors:
        node = pod["spec"].get("nodeName", "")
        assert node.startswith(PLATFORM_NODE_PREFIX[stack]), (pod["metadata"]["name"], node)
        ready = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}
        assert ready.get("Ready") == "True", (pod["metadata"]["name"], pod["status"])
    ns = cluster.api.ok("GET", f"/api/v1/namespaces/{namespace}")
    assert "pod-security.kubernetes.io/enforce" in ns["metadata"]["labels"]

    # ... and each object as the API server stored it holds what the render says (server defaults aside).
    mismatches: list[str] = []
    for obj in expected:
        stored = cluster.api.ok("GET", api_path(obj))
        want = {k: v for k, v in obj.items() if k not in ("stringData", "data")}
        mismatches += [f"{obj['kind']}/{obj['metadata']['name']}{m}" for m in subset_mismatches(want, stored)]
    assert not mismatches, "\n".join(mismatches[:40])

    # 3. outputs name Services that exist; the state holds no plaintext token; the cluster's Secret does.
    outputs = cli.outputs(name)
    for model in outputs["models"]:
        host = model["inClusterUrl"].split("//", 1)[1].split("/", 1)[0]
        service, svc_namespace = host.split(".")[:2]
        cluster.api.ok("GET", f"/api/v1/namespaces/{svc_namespace}/services/{service}")
    state = json.dumps(cli.export(name))
    assert TOKEN not in state
    secrets = [o for o in expected if o["kind"] == "Secret" and "hf-token" in o["metadata"]["name"]]
    assert secrets, [o["metadata"]["name"] for o in expected if o["kind"] == "Secret"]
    import base64

    stored = cluster.api.ok("GET", api_path(secrets[0]))
    assert TOKEN in [base64.b64decode(v).decode() for v in stored["data"].values()]

    # 4. no perpetual diff.
    again = cli.preview(name, "--expect-no-changes")
    timings["preview-no-changes"] = again.seconds

    # 5a. one model's arguments change: only that InferenceService is updated.
    first = outputs["models"][0]["name"]  # outputs list the models in config order
    before = {i["metadata"]["name"]: cluster.api.ok("GET", api_path(i))["metadata"]["generation"] for i in isvcs}
    changed = copy.deepcopy(config)
    entry = changed["models"][0]
    entry = {"id": entry} if isinstance(entry, str) else dict(entry)
    entry["extraArgs"] = [*entry.get("extraArgs", []), "--max-num-seqs", "17"]
    changed["models"][0] = entry
    cli.set_config(name, changed)
    step_preview = steps_by_op(cli.preview(name, policy=False).json())
    updates = step_preview.get("update", [])
    assert len(updates) == 1 and updates[0].startswith("InferenceService::") and updates[0].endswith(f"-{first}"), \
        step_preview
    timings["update-one"] = cli.up(name).seconds
    after = {i["metadata"]["name"]: cluster.api.ok("GET", api_path(i))["metadata"]["generation"] for i in isvcs}
    assert after[first] > before[first]
    assert {k: v for k, v in after.items() if k != first} == {k: v for k, v in before.items() if k != first}

    # 5b. adding a model creates only its objects.
    added = copy.deepcopy(changed)
    added["models"].append({"id": "Qwen/Qwen2.5-0.5B-Instruct", "name": "e2e-extra"})
    cli.set_config(name, added)
    add_ops = steps_by_op(cli.preview(name, policy=False).json())
    assert set(add_ops) <= {"create", "same"}, add_ops
    assert all("e2e-extra" in s for s in add_ops["create"]), add_ops
    timings["add-one"] = cli.up(name).seconds
    assert isvc_conditions(cluster, namespace, "e2e-extra").get("Ready") == "True"

    # 5c. removing it deletes its InferenceService and keeps its cache claim.
    cli.set_config(name, changed)
    timings["remove-one"] = cli.up(name).seconds
    gone = cluster.api.request("GET", f"/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/e2e-extra")
    assert gone[0] == 404, gone
    storage = config.get("storage", {})
    if storage.get("enabled", True) and storage.get("retainOnDestroy", True):
        cluster.api.ok("GET", f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/e2e-extra-cache")

    # 6. destroy within the bound; what the README says is retained stays: the namespace and the claims.
    destroy = cli.destroy(name)
    timings["destroy"] = destroy.seconds
    assert destroy.seconds < DESTROY_BOUND_SECONDS, destroy.seconds
    for isvc in isvcs:
        status, _ = cluster.api.request("GET", api_path(isvc))
        assert status == 404, (isvc["metadata"]["name"], status)
    claims = cluster.api.ok("GET", f"/api/v1/namespaces/{namespace}/persistentvolumeclaims")["items"]
    assert {c["metadata"]["name"] for c in claims} >= {f"{i['metadata']['name']}-cache" for i in isvcs}
    assert cli.resources(name) == []

    # ... and `make up ADOPT=1` adopts them again.
    readopt = cli.up(name, env={"PULUMI_K8S_UPSERT_EXISTING_OBJECTS": "true"})
    timings["up-adopt"] = readopt.seconds
    for isvc in isvcs:
        assert isvc_conditions(cluster, namespace, isvc["metadata"]["name"]).get("Ready") == "True"
    print(f"[{stack}] timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
