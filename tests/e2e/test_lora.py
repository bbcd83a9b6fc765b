"""Layer 5: a base model with LoRA adapters through the real CLI, on KServe v0.20.0 and v0.13.0.

v0.20.0: the storage initializer downloads the adapters (`predictor.storageUris`): a gated hub adapter
(hf://, the Hugging Face token from the hf-token Secret on the predictor's ServiceAccount) and an adapter
from a real MLflow registry (s3://, the S3 keys from the registry Secret). The Pod KServe's webhook made
shows the storage initializer with every adapter's URI and mount path and both credentials. A second model
has its base from the registry too: the base joins the storageUris at /mnt/models.
v0.13.0: no storageUris; vLLM downloads the adapters itself (`--lora-modules` with hub ids).

On each: `up` -> Ready, the stored InferenceService carries what was rendered, outputs list each adapter
with its served name and URL, no perpetual diff, adding an adapter is an InferenceService update only, destroy.
The v0.20.0 cluster is the session's `local_cluster` when E2E_KSERVE is v0.20.0 (the default).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from engine.localcluster import LocalCluster, build_engine
from tests import mlflow_server
from tests.e2e.pulumi_cli import ORGANIZATION, PulumiCLI, steps_by_op
from tests.e2e.test_stacks import TOKEN, isvc_conditions, subset_mismatches

BASE = "Qwen/Qwen3-1.7B"
DEST = "s3://mlflow-artifacts/prod"
ACCESS_KEY = "AKIA_E2E_LORA_ACCESS_KEY"
SECRET_KEY = "e2e_lora_s3_secret_key_never_in_plaintext"
HUB_ADAPTERS = [{"name": "sql", "id": "example-org/qwen3-sql-lora", "rank": 8},
                {"name": "support", "id": "example-org/qwen3-support-lora"}]
EXTRA_ADAPTER = {"name": "triage", "id": "example-org/qwen3-triage-lora"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    server = mlflow_server.start_server(tmp_path_factory.mktemp("mlflow-lora"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bins() -> Path:
    return build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.20", "kserve-v0.13"))


def cluster_for(request, version: str, bins: Path):
    """The session's cluster when it runs `version`, else one of this module's own (a context manager)."""
    if request.getfixturevalue("kserve_version") == version:
        from contextlib import nullcontext
        return nullcontext(request.getfixturevalue("local_cluster"))
    return LocalCluster(bins, kserve_version=version)


def stack_config(version: str, namespace: str, adapters: list, registry_url: str | None = None) -> dict:
    config = {
        "platform": "xeon",
        "kserve": {"version": version, "install": False},
        "namespace": namespace,
        "validateToken": False,  # no route to the hub from here
        "models": [{"id": BASE, "adapters": adapters, "lora": {"maxLoras": 2}}],
    }
    if registry_url:
        config["registry"] = {"trackingUri": registry_url, "artifactsDestination": DEST,
                              "s3": {"endpoint": "minio.minio.svc:9000", "useHttps": False, "region": "us-east-1"}}
    return config


def rendered_isvcs(config: dict, stack: str, secrets: dict) -> list[dict]:
    from offline.engine import evaluate

    raw = {f"kserve-intel:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    raw["kserve-intel:hfToken"] = TOKEN
    secret_keys = ["kserve-intel:hfToken"]
    if "registry" in config:
        registry = dict(config["registry"])
        registry["s3"] = {**registry["s3"], "accessKeyId": secrets["registry.s3.accessKeyId"],
                          "secretAccessKey": secrets["registry.s3.secretAccessKey"]}
        raw["kserve-intel:registry"] = json.dumps(registry)
        secret_keys.append("kserve-intel:registry")
    return [o for o in evaluate(raw, secret_keys, stack=stack, organization=ORGANIZATION).objects() if o.get("kind") == "InferenceService"]


def predictor_pod(cluster: LocalCluster, namespace: str, name: str) -> dict:
    pods = cluster.api.ok("GET", f"/api/v1/namespaces/{namespace}/pods")["items"]
    (pod,) = [p for p in pods if p["metadata"]["name"].startswith(f"{name}-predictor")
              and not p["metadata"].get("deletionTimestamp")]
    return pod


def check_stack(cli: PulumiCLI, cluster: LocalCluster, stack: str, config: dict, secrets: dict,
                namespace: str) -> list[tuple[dict, dict, list]]:
    """up, then what the API server stored and the outputs; per model (stored isvc, pod, output adapters)."""
    cli.init(stack, config, secrets=secrets)
    cli.up(stack)
    models = cli.outputs(stack)["models"]
    wanted = {o["metadata"]["name"]: o for o in rendered_isvcs(config, stack, secrets)}
    assert sorted(wanted) == sorted(m["name"] for m in models)
    found = []
    for model, configured in zip(models, config["models"]):
        name = model["name"]
        assert isvc_conditions(cluster, namespace, name).get("Ready") == "True"
        stored = cluster.api.ok("GET", f"/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/{name}")
        assert subset_mismatches(wanted[name]["spec"], stored["spec"]) == []
        # Outputs: every adapter with its served name and the base's URL (clients send `model: <name>`).
        assert [(a["servedModelName"], a["openaiBaseUrl"], a["baseModel"]) for a in model["adapters"]] == [
            (a["name"], model["openaiBaseUrl"], model["servedModelName"]) for a in configured["adapters"]]
        found.append((stored, predictor_pod(cluster, namespace, name), model["adapters"]))
    cli.run("preview", "--diff", "--expect-no-changes", stack=stack)
    return found


def storage_initializer(pod: dict) -> dict:
    (init,) = [c for c in pod["spec"].get("initContainers", []) if c["name"] == "storage-initializer"]
    return init


def adding_an_adapter_only_updates_the_inference_service(cli: PulumiCLI, stack: str) -> None:
    # Edit the stack file in place: nested secrets (registry.s3.*) stay as they are.
    path = cli.config_file(stack)
    original = path.read_text()
    document = yaml.safe_load(original)
    document["config"]["kserve-intel:models"][0]["adapters"].append(EXTRA_ADAPTER)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        ops = steps_by_op(cli.preview(stack, policy=False).json())
    finally:
        path.write_text(original)
    changed = {op: steps for op, steps in ops.items() if op != "same"}
    assert list(changed) == ["update"] and [s.split("::")[0] for s in changed["update"]] == ["InferenceService"], ops


def test_adapters_on_kserve_0_20_come_through_the_storage_initializer(request, bins, registry, tmp_path) -> None:
    registry.register_logged_model("billing-lora", mlflow_server.PEFT_LAYOUT)
    registry.set_alias("billing-lora", "champion", "1")
    registry.register_from_run("support-bot", mlflow_server.TRANSFORMERS_LAYOUT)
    registry.set_alias("support-bot", "champion", "1")
    namespace = "intel-lora"
    adapters = [{**HUB_ADAPTERS[0], "revision": "v1", "gated": True},
                {"name": "billing", "source": {"registeredModel": "billing-lora", "alias": "champion"}}]
    config = stack_config("v0.20.0", namespace, adapters, registry.url)
    # A second model: a base from the registry with a registry adapter (the base joins storageUris).
    config["models"].append({"id": "meta-llama/Llama-3.2-1B-Instruct", "name": "support-bot",
                             "source": {"registeredModel": "support-bot", "alias": "champion"},
                             "adapters": [{"name": "billing-support",
                                           "source": {"registeredModel": "billing-lora", "alias": "champion"}}]})
    secrets = {"hfToken": TOKEN, "registry.s3.accessKeyId": ACCESS_KEY, "registry.s3.secretAccessKey": SECRET_KEY}
    with cluster_for(request, "v0.20.0", bins) as cluster:
        cli = PulumiCLI(bins, cluster.kubeconfig, tmp_path / "pulumi")
        stack = "e2e-lora-v020"
        (stored, pod, outputs), (stored2, pod2, _) = check_stack(cli, cluster, stack, config, secrets, namespace)
        uris = stored["spec"]["predictor"]["storageUris"]
        assert uris[0] == {"uri": "hf://example-org/qwen3-sql-lora:v1", "mountPath": "/mnt/lora/0-sql"}
        assert uris[1]["uri"].startswith(DEST + "/0/models/") and uris[1]["uri"].endswith("/artifacts/peft")
        assert uris[1]["mountPath"] == "/mnt/lora/1-billing"
        assert outputs[1]["source"]["resolved"]["uri"] == uris[1]["uri"]
        args = stored["spec"]["predictor"]["model"]["args"]
        assert [json.loads(m)["path"] for m in args[args.index("--lora-modules") + 1:]] == [
            "/mnt/lora/0-sql", "/mnt/lora/1-billing"]

        # KServe's pod webhook: one storage initializer for every adapter, with both credentials.
        init = storage_initializer(pod)
        assert init["args"] == [x for u in uris for x in (u["uri"], u["mountPath"])], init["args"]
        refs = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}) for e in init.get("env", [])}
        assert refs.get("HF_TOKEN") == {"name": "hf-token", "key": "HF_TOKEN"}, init.get("env")
        assert refs.get("AWS_ACCESS_KEY_ID", {}).get("name") == "kserve-intel-registry-s3", init.get("env")
        (server,) = [c for c in pod["spec"]["containers"] if c["name"] == "kserve-container"]
        mounted = {m["mountPath"] for m in server.get("volumeMounts", [])}
        assert "/mnt/lora" in mounted, mounted  # the adapters' common parent

        # The registry base: no model.storageUri (KServe's validator refuses it beside storageUris), its
        # version at /mnt/models first; the webhook downloads base and adapter in one init container.
        predictor2 = stored2["spec"]["predictor"]
        assert "storageUri" not in predictor2["model"]
        uris2 = predictor2["storageUris"]
        assert [u["mountPath"] for u in uris2] == ["/mnt/models", "/mnt/lora/0-billing-support"]
        assert uris2[0]["uri"].startswith(DEST + "/0/") and uris2[1]["uri"] == uris[1]["uri"]
        assert storage_initializer(pod2)["args"] == [x for u in uris2 for x in (u["uri"], u["mountPath"])]
        (server2,) = [c for c in pod2["spec"]["containers"] if c["name"] == "kserve-container"]
        assert "/mnt" in {m["mountPath"] for m in server2.get("volumeMounts", [])}
        state = str(cli.export(stack))
        assert TOKEN not in state and SECRET_KEY not in state

        adding_an_adapter_only_updates_the_inference_service(cli, stack)
        cli.destroy(stack)


def test_adapters_on_kserve_0_13_are_downloaded_by_vllm(request, bins, tmp_path) -> None:
    namespace = "intel-lora-old"
    config = stack_config("v0.13.0", namespace, HUB_ADAPTERS)
    with cluster_for(request, "v0.13.0", bins) as cluster:
        cli = PulumiCLI(bins, cluster.kubeconfig, tmp_path / "pulumi")
        stack = "e2e-lora-v013"
        ((stored, pod, _),) = check_stack(cli, cluster, stack, config, {"hfToken": TOKEN}, namespace)
        predictor = stored["spec"]["predictor"]
        assert "storageUris" not in predictor
        args = predictor["model"]["args"]
        assert args[args.index("--enable-lora"):] == [
            "--enable-lora", "--max-loras", "2", "--max-lora-rank", "16", "--max-cpu-loras", "2", "--lora-modules",
            *(json.dumps({"name": a["name"], "path": a["id"], "base_model_name": BASE}, separators=(",", ":"))
              for a in HUB_ADAPTERS)]
        # Nothing for KServe to download: no storage initializer; vLLM fetches the adapters with the token.
        assert not [c for c in pod["spec"].get("initContainers", []) if c["name"] == "storage-initializer"]
        (server,) = [c for c in pod["spec"]["containers"] if c["name"] == "kserve-container"]
        assert any(e["name"] == "HF_TOKEN" for e in server.get("env", []))
        adding_an_adapter_only_updates_the_inference_service(cli, stack)
        cli.destroy(stack)
