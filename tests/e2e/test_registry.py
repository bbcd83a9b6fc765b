"""Layer 5: a model from the MLflow registry, through the real CLI, on the local cluster.

A real MLflow server (from `.venv-mlflow`, as in the fast suite) holds a registered model with an alias;
`pulumi up` resolves alias -> version -> URI, and the API server stores what KServe needs: `storageUri`,
the resolved version as annotations, and the S3 credentials Secret on the predictor's ServiceAccount,
which KServe's pod webhook turns into the storage initializer's environment. Moving the alias is a diff in
`pulumi preview`; pointing it back converges.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.localcluster import LocalCluster, build_engine
from tests import mlflow_server
from tests.e2e.pulumi_cli import PulumiCLI, steps_by_op
from tests.e2e.test_stacks import isvc_conditions

VERSION = "v0.13.0"
DEST = "s3://mlflow-artifacts/prod"
ACCESS_KEY = "AKIA_E2E_ACCESS_KEY_NEVER_SHOWN"
SECRET_KEY = "e2e_s3_secret_key_never_in_plaintext"
NAMESPACE = "intel-registry"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    server = mlflow_server.start_server(tmp_path_factory.mktemp("mlflow"))
    try:
        yield server
    finally:
        server.stop()


def test_registry_model_deploys_and_an_alias_move_is_a_diff(registry, tmp_path: Path) -> None:
    v1 = registry.register_from_run("support-bot", mlflow_server.TRANSFORMERS_LAYOUT)
    v2 = registry.register_from_run("support-bot", mlflow_server.TRANSFORMERS_LAYOUT)
    registry.set_alias("support-bot", "champion", v1["version"])

    bins = build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.13"))
    with LocalCluster(bins, kserve_version=VERSION) as cluster:
        cli = PulumiCLI(bins, cluster.kubeconfig, tmp_path / "pulumi")
        stack = "e2e-registry"
        cli.init(stack, {
            "platform": "xeon",
            "kserve": {"version": VERSION, "install": False},
            "namespace": NAMESPACE,
            "models": [{"id": "meta-llama/Llama-3.2-1B-Instruct",
                        "source": {"registeredModel": "support-bot", "alias": "champion"}}],
            "registry": {"trackingUri": registry.url, "artifactsDestination": DEST,
                         "s3": {"endpoint": "minio.minio.svc:9000", "useHttps": False, "region": "us-east-1"}},
        }, secrets={"registry.s3.accessKeyId": ACCESS_KEY, "registry.s3.secretAccessKey": SECRET_KEY})
        cli.up(stack)
        outputs = cli.outputs(stack)
        (model,) = outputs["models"]
        name = model["name"]
        assert isvc_conditions(cluster, NAMESPACE, name).get("Ready") == "True"
        isvc = cluster.api.ok("GET", f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/{name}")
        assert isvc["spec"]["predictor"]["model"]["storageUri"].startswith(DEST + "/")
        assert isvc["metadata"]["annotations"]["kserve-intel/registry-version"] == v1["version"]

        # The credentials: a Secret with KServe's S3 annotations on the predictor's ServiceAccount, and KServe's
        # pod webhook gave the storage initializer its keys from it.
        account = isvc["spec"]["predictor"]["serviceAccountName"]
        sa = cluster.api.ok("GET", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/{account}")
        secret_names = [s["name"] for s in sa.get("secrets", [])]
        assert secret_names, sa
        secret = cluster.api.ok("GET", f"/api/v1/namespaces/{NAMESPACE}/secrets/{secret_names[0]}")
        assert secret["metadata"]["annotations"]["serving.kserve.io/s3-endpoint"] == "minio.minio.svc:9000"
        pods = cluster.api.ok("GET", f"/api/v1/namespaces/{NAMESPACE}/pods")["items"]
        (pod,) = [p for p in pods if p["metadata"]["name"].startswith(f"{name}-predictor")]
        (init,) = [c for c in pod["spec"].get("initContainers", []) if c["name"] == "storage-initializer"]
        refs = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") for e in init.get("env", [])}
        assert refs.get("AWS_ACCESS_KEY_ID") == secret_names[0], init.get("env")
        state = str(cli.export(stack))
        assert ACCESS_KEY not in state and SECRET_KEY not in state

        # Promotion is a registry operation: the alias moves, preview shows the InferenceService change.
        registry.set_alias("support-bot", "champion", v2["version"])
        ops = steps_by_op(cli.preview(stack, policy=False).json())
        assert [s for s in ops.get("update", []) if s.startswith("InferenceService::")], ops
        cli.up(stack)
        isvc = cluster.api.ok("GET", f"/apis/serving.kserve.io/v1beta1/namespaces/{NAMESPACE}/inferenceservices/{name}")
        assert isvc["metadata"]["annotations"]["kserve-intel/registry-version"] == v2["version"]
        # Rollback: point the alias back, run up.
        registry.set_alias("support-bot", "champion", v1["version"])
        cli.up(stack)
        cli.run("preview", "--diff", "--expect-no-changes", stack=stack)
        cli.destroy(stack)
