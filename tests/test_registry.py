"""Weights from the model registry (MLflow), against a real MLflow tracking server.

The server (tests/mlflow_server.py) runs from .venv-mlflow on 127.0.0.1 with a sqlite
store and a local artifact destination behind its artifact proxy. Versions are
registered as teams do it (a run's artifacts, or an MLflow 3 logged model as
mlflow.transformers.log_model writes it), aliases are set and moved, and the tests
check what the program emits: storageUri, annotations, vLLM args, the S3 Secret and
its ServiceAccount link, the stack outputs, and every refusal's exact text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi import RunError

from kserve_intel.rules import registry
from kserve_intel.builders.identity import model_service_account
from kserve_intel.builders.model import inference_service
from kserve_intel.builders.registry import S3_SECRET, needs_s3_secret, s3_secret
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import build_plan
from offline.validation import validate_object
from offline.engine import evaluate, is_secret, stack_config
from tests.conftest import ISVC, SECRET, raw_config, run_stack
from tests import mlflow_server
from tests.mlflow_server import HUB_REFERENCE_LAYOUT, NO_CONFIG_LAYOUT, TRANSFORMERS_LAYOUT

# What the server's --artifacts-destination stands for in production: the bucket behind it.
DEST = "s3://mlflow-artifacts/prod"
ACCESS_KEY = "AKIA_TEST_ACCESS_KEY_NEVER_SHOWN"
SECRET_KEY = "s3_test_secret_key_never_in_plaintext"
BASE = "meta-llama/Llama-3.2-1B-Instruct"
SA = "kserve-intel-vllm"


class Registry:
    """The session's server plus the versions registered on it."""

    def __init__(self, server: mlflow_server.MlflowServer, tmp: Path):
        self.server = server
        self.url = server.url
        run_version = server.register_from_run("support-bot", TRANSFORMERS_LAYOUT)
        logged_version = server.register_logged_model("support-bot", TRANSFORMERS_LAYOUT)
        self.v1_run = run_version["run_id"]
        self.v2_run = logged_version["run_id"]
        self.v2_model = logged_version["source"].removeprefix("models:/")
        server.set_alias("support-bot", "champion", "1")
        server.set_alias("support-bot", "challenger", "2")
        self.v1_uri = f"{DEST}/0/{self.v1_run}/artifacts/model"
        self.v2_uri = f"{DEST}/0/models/{self.v2_model}/artifacts"
        server.register_from_run("hub-reference", HUB_REFERENCE_LAYOUT)
        server.register_from_run("no-config", NO_CONFIG_LAYOUT)
        # An experiment whose artifacts live on the server's local disk (file://): KServe cannot fetch it.
        experiment = server.post("/experiments/create", {"name": "local-disk",
                                                          "artifact_location": (tmp / "local-store").as_uri()})
        server.register_from_run("local-disk", TRANSFORMERS_LAYOUT, experiment_id=experiment["experiment_id"])


@pytest.fixture(scope="session")
def mlflow(request, tmp_path_factory) -> Registry:
    # Booted by conftest.py when the session was collected, so it starts while other tests run.
    # Fails (never skips) without .venv-mlflow: `make test` creates it.
    booting = getattr(request.config, "mlflow_launch", None)
    if isinstance(booting, BaseException):
        raise booting
    launch = booting or mlflow_server.launch(tmp_path_factory.mktemp("mlflow"))
    server = launch.wait()
    try:
        yield Registry(server, server.workdir)
    finally:
        server.stop()


def registry_config(mlflow: Registry, **overrides) -> dict:
    values = {
        "trackingUri": mlflow.url,
        "artifactsDestination": DEST,
        "s3": {"endpoint": "minio.minio.svc:9000", "useHttps": False, "region": "us-east-1",
               "accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY},
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def model(source: dict, **extra) -> dict:
    return {"id": BASE, "source": source, **extra}


def make_plan(mlflow: Registry, models: list, registry_values: dict | None = None, secret: bool = True, **extra):
    values = {"platform": "xeon", "models": models,
              "registry": registry_values if registry_values is not None else registry_config(mlflow), **extra}
    return build_plan(load_config(raw_config(**values), ["kserve-intel:registry"] if secret else []))


def refusal(mlflow: Registry, models: list, registry_values: dict | None = None, **extra) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        make_plan(mlflow, models, registry_values, **extra)
    return [issue.render() for issue in caught.value.issues]


def valid(obj: dict, version: str) -> dict:
    problems = validate_object(obj, kserve_version=version)
    assert problems == [], problems
    return obj


# --- resolution: alias -> version -> URI, layouts, translation --------------------------------


def test_an_alias_resolves_to_its_version_run_and_store_uri(mlflow):
    plan = make_plan(mlflow, [model({"registeredModel": "support-bot", "alias": "champion"})])
    (m,) = plan.models
    assert m.source == registry.ResolvedSource(
        registered_model="support-bot", alias="champion", version="1", run_id=mlflow.v1_run,
        storage_uri=mlflow.v1_uri, registry_uri=f"mlflow-artifacts:/0/{mlflow.v1_run}/artifacts/model",
    )
    # Named after the registered model, not the base: two fine-tunes of one base do not collide.
    assert m.name == "support-bot"
    assert m.served_model_name == "support-bot"
    assert m.gated is False  # nothing comes from the hub


def test_a_logged_model_version_resolves_through_the_artifact_proxy(mlflow):
    # mlflow.transformers.log_model(registered_model_name=...) in MLflow 3: source models:/m-<id>.
    plan = make_plan(mlflow, [model({"registeredModel": "support-bot", "version": 2})])
    source = plan.models[0].source
    assert (source.version, source.alias, source.run_id) == ("2", None, mlflow.v2_run)
    assert source.registry_uri == f"mlflow-artifacts:/0/models/{mlflow.v2_model}/artifacts"
    assert source.storage_uri == mlflow.v2_uri


@pytest.mark.parametrize("version", ["v0.13.0", "v0.20.0"])
def test_the_inference_service_fetches_the_version_and_records_it(mlflow, version):
    plan = make_plan(mlflow, [model({"registeredModel": "support-bot", "alias": "champion"})],
                     kserve={"version": version})
    (m,) = plan.models
    isvc = valid(inference_service(plan, m, with_token=False), version)
    container = isvc["spec"]["predictor"]["model"]
    assert container["storageUri"] == mlflow.v1_uri
    args = container["args"]
    # `vllm serve` (the default Xeon stack, vllm-0.33) takes the model first, positionally.
    assert args[:5] == ["/mnt/models/model", "--tokenizer", "/mnt/models/components/tokenizer",
                        "--served-model-name", "support-bot"]
    assert "--revision" not in args and BASE not in args
    annotations = isvc["metadata"]["annotations"]
    assert {k: v for k, v in annotations.items() if k.startswith("kserve-intel/registry-")} == {
        "kserve-intel/registry-model": "support-bot", "kserve-intel/registry-alias": "champion",
        "kserve-intel/registry-version": "1", "kserve-intel/registry-run-id": mlflow.v1_run,
    }
    assert not any("HF_TOKEN" in json.dumps(e) for e in container.get("env", []))
    assert "env" not in container  # no empty list: the API server would drop it (a perpetual diff, e2e)


def test_a_moved_alias_is_a_diff_and_pointing_it_back_is_a_rollback(mlflow):
    server = mlflow.server
    server.register_from_run("rollback-bot", TRANSFORMERS_LAYOUT)
    second = server.register_logged_model("rollback-bot", TRANSFORMERS_LAYOUT)
    server.set_alias("rollback-bot", "champion", "1")
    models = [model({"registeredModel": "rollback-bot", "alias": "champion"})]

    def emitted():
        plan = make_plan(mlflow, models)
        return inference_service(plan, plan.models[0], with_token=False)

    before = emitted()
    server.set_alias("rollback-bot", "champion", "2")  # promotion: a registry operation
    promoted = emitted()
    assert promoted["metadata"]["annotations"]["kserve-intel/registry-version"] == "2"
    assert promoted["spec"]["predictor"]["model"]["storageUri"] == (
        f"{DEST}/0/models/{second['source'].removeprefix('models:/')}/artifacts")
    # Only what the registry decides changed; the served name stays.
    assert promoted["spec"]["predictor"]["model"]["args"] == before["spec"]["predictor"]["model"]["args"]
    server.set_alias("rollback-bot", "champion", "1")  # rollback: point the alias back
    assert emitted() == before


def test_a_canary_serves_another_alias_beside_the_stable_version(mlflow):
    plan = make_plan(mlflow, [model({"registeredModel": "support-bot", "alias": "champion"},
                                    canary={"trafficPercent": 10, "source": {"alias": "challenger"}})],
                     kserve={"version": "v0.20.0", "deploymentMode": "Standard"})
    (m,) = plan.models
    isvc = valid(inference_service(plan, m, with_token=False), "v0.20.0")
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == mlflow.v1_uri
    (canary,) = isvc["spec"]["canary"]
    assert canary["trafficPercent"] == 10
    assert canary["predictor"]["model"]["storageUri"] == mlflow.v2_uri
    assert canary["predictor"]["model"]["args"][:3] == ["/mnt/models/model", "--tokenizer",
                                                        "/mnt/models/components/tokenizer"]
    annotations = isvc["metadata"]["annotations"]
    assert annotations["kserve-intel/registry-version"] == "1"
    assert annotations["kserve-intel/canary-registry-version"] == "2"
    assert annotations["kserve-intel/canary-registry-alias"] == "challenger"


def test_a_serverless_canary_puts_the_new_version_on_the_predictor(mlflow):
    source = {"registeredModel": "support-bot", "alias": "champion"}
    for percent, uri in ((10, mlflow.v2_uri), (0, mlflow.v1_uri)):
        plan = make_plan(mlflow, [model(source, canary={"trafficPercent": percent, "source": {"version": 2}})],
                         kserve={"deploymentMode": "Serverless"})
        isvc = valid(inference_service(plan, plan.models[0], with_token=False), "v0.13.0")
        assert isvc["spec"]["predictor"]["model"]["storageUri"] == uri
        assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == percent


def test_the_s3_secret_follows_kserve_conventions_and_hangs_on_the_service_account(mlflow):
    plan = make_plan(mlflow, [model({"registeredModel": "support-bot", "alias": "champion"})])
    assert needs_s3_secret(plan)
    secret = s3_secret(plan)
    assert secret["metadata"]["name"] == S3_SECRET
    assert secret["metadata"]["annotations"] == {
        "serving.kserve.io/s3-endpoint": "minio.minio.svc:9000", "serving.kserve.io/s3-usehttps": "0",
        "serving.kserve.io/s3-verifyssl": "1", "serving.kserve.io/s3-region": "us-east-1",
    }
    assert "data" not in secret and "stringData" not in secret  # the component adds them as Pulumi secrets
    account = valid(model_service_account(plan), "v0.13.0")
    assert account["secrets"] == [{"name": S3_SECRET}]
    assert account["automountServiceAccountToken"] is False
    valid({**secret, "stringData": {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}}, "v0.13.0")


def test_without_registry_models_the_service_account_is_unchanged(committed):
    for evaluation in committed.values():
        (account,) = [r for r in evaluation.registrations if r.type == "kubernetes:core/v1:ServiceAccount"
                      and r.inputs["metadata"]["name"] == SA]
        assert "secrets" not in account.inputs


# --- the program under Pulumi's mocks: preview resolves, credentials stay secret ----------------


def test_the_program_resolves_in_preview_and_keeps_credentials_secret(mlflow):
    evaluation = run_stack("xeon", hfToken="hf_unused", models=[model({"registeredModel": "support-bot",
                                                                         "alias": "champion"})],
                           registry=registry_config(mlflow))
    secrets = [r for r in evaluation.of_type(SECRET) if r.inputs["metadata"]["name"] == S3_SECRET]
    (secret,) = secrets
    assert is_secret(secret.inputs["stringData"])
    assert secret.inputs["stringData"]["value"] == {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    for registration in evaluation.registrations:
        if registration is not secret:
            text = json.dumps(registration.inputs)
            assert ACCESS_KEY not in text and SECRET_KEY not in text, registration.urn
    assert ACCESS_KEY not in json.dumps(evaluation.outputs) and SECRET_KEY not in json.dumps(evaluation.outputs)
    (isvc,) = evaluation.of_type(ISVC)
    assert secret.urn in isvc.dependencies
    assert isvc.inputs["spec"]["predictor"]["model"]["storageUri"] == mlflow.v1_uri
    (account,) = [r for r in evaluation.registrations if r.type == "kubernetes:core/v1:ServiceAccount"
                  and r.inputs["metadata"]["name"] == SA]
    assert account.inputs["secrets"] == [{"name": S3_SECRET}]
    (summary,) = evaluation.outputs["models"]
    assert summary["source"] == {"registeredModel": "support-bot", "alias": "champion",
                                 "resolved": {"version": "1", "uri": mlflow.v1_uri, "runId": mlflow.v1_run}}


def test_a_registry_refusal_registers_nothing(mlflow):
    config, secret_keys = stack_config("xeon", {
        "models": json.dumps([model({"registeredModel": "support-bot", "alias": "gold"})]),
        "registry": json.dumps(registry_config(mlflow)),
    })
    evaluation = evaluate(config, secret_keys, stack="xeon", raise_errors=False)
    assert isinstance(evaluation.error, RunError)
    assert "kserve-intel:models[0].source.alias = \"gold\"" in str(evaluation.error)
    assert evaluation.registrations == []


# --- air-gapped previews -----------------------------------------------------------------------


def test_resolve_false_uses_the_recorded_version_without_asking(mlflow):
    recorded = {"version": "1", "uri": mlflow.v1_uri, "runId": mlflow.v1_run}
    plan = make_plan(mlflow, [model({"registeredModel": "support-bot", "alias": "champion", "resolved": recorded})],
                     registry_config(mlflow, resolve=False, trackingUri=f"http://127.0.0.1:{mlflow_server.free_port()}"))
    source = plan.models[0].source
    assert (source.version, source.storage_uri, source.run_id, source.live) == ("1", mlflow.v1_uri, mlflow.v1_run, False)
    assert any("registry.resolve is false" in w for w in plan.warnings)


def test_a_stale_recorded_version_is_reported_when_resolving(mlflow):
    recorded = {"version": "2", "uri": mlflow.v2_uri}
    plan = make_plan(mlflow, [model({"registeredModel": "support-bot", "alias": "champion", "resolved": recorded})])
    assert plan.models[0].source.version == "1"
    assert ("models[0].source.resolved says version 2, but the registry now resolves alias 'champion' of "
            "'support-bot' to version 1: deploying version 1. Update source.resolved before an air-gapped preview."
            ) in plan.warnings


# --- refusals against the same server: exact text ------------------------------------------------


def test_unknown_model(mlflow):
    assert refusal(mlflow, [model({"registeredModel": "nobody", "alias": "champion"})]) == [
        f'kserve-intel:models[0].source.registeredModel = "nobody": no registered model of this name on {mlflow.url} '
        "(MLflow answered 404 RESOURCE_DOES_NOT_EXIST)",
    ]


def test_unknown_alias_is_mlflows_400(mlflow):
    assert refusal(mlflow, [model({"registeredModel": "support-bot", "alias": "gold"})]) == [
        "kserve-intel:models[0].source.alias = \"gold\": registered model 'support-bot' has no such alias (MLflow "
        "answered 400 INVALID_PARAMETER_VALUE); its aliases: challenger (version 2), champion (version 1)",
    ]


def test_unknown_version(mlflow):
    assert refusal(mlflow, [model({"registeredModel": "support-bot", "version": 9})]) == [
        "kserve-intel:models[0].source.version = \"9\": registered model 'support-bot' has no such version (MLflow "
        "answered 404 RESOURCE_DOES_NOT_EXIST); its versions: 1, 2",
    ]


def test_unknown_canary_alias(mlflow):
    issues = refusal(mlflow, [model({"registeredModel": "support-bot", "alias": "champion"},
                                    canary={"trafficPercent": 5, "source": {"alias": "gold"}})],
                     kserve={"version": "v0.20.0"})
    assert issues == [
        "kserve-intel:models[0].canary.source.alias = \"gold\": registered model 'support-bot' has no such alias "
        "(MLflow answered 400 INVALID_PARAMETER_VALUE); its aliases: challenger (version 2), champion (version 1)",
    ]


def test_registry_unreachable(mlflow):
    url = f"http://127.0.0.1:{mlflow_server.free_port()}"
    assert refusal(mlflow, [model({"registeredModel": "support-bot", "alias": "champion"})],
                   registry_config(mlflow, trackingUri=url, timeoutSeconds=2)) == [
        f'kserve-intel:registry.trackingUri = "{url}": cannot reach the MLflow tracking server: cannot connect to '
        f"{url} (ConnectionError). Check the URL and the network (HTTPS_PROXY / NO_PROXY); for an air-gapped "
        "preview set registry.resolve false",
    ]


LAYOUT_TAIL = (": vLLM serves the mlflow.transformers layout, model/ with config.json and the weights, "
               "components/tokenizer/ with the tokenizer (mlflow.transformers.log_model with save_pretrained=True)")


def test_a_hub_reference_without_weights_is_refused(mlflow):
    issues = refusal(mlflow, [model({"registeredModel": "hub-reference", "version": 1})])
    assert len(issues) == 1
    prefix = 'kserve-intel:models[0].source = {"registeredModel": "hub-reference", "version": "1"}: '
    assert issues[0].startswith(prefix + "version 1 of 'hub-reference' (s3://mlflow-artifacts/prod/0/")
    assert issues[0].endswith("/artifacts/model) has no model/ directory (it holds MLmodel, components/)" + LAYOUT_TAIL)


def test_weights_without_config_json_are_refused(mlflow):
    (issue,) = refusal(mlflow, [model({"registeredModel": "no-config", "version": 1})])
    assert issue.endswith("/artifacts/model) has no model/config.json (save_pretrained=False logs only a hub "
                          "reference, no weights)" + LAYOUT_TAIL)


def test_a_store_kserve_cannot_fetch_is_refused(mlflow):
    (issue,) = refusal(mlflow, [model({"registeredModel": "local-disk", "version": 1})])
    store = (mlflow.server.workdir / "local-store").as_uri()
    assert issue.startswith('kserve-intel:models[0].source = {"registeredModel": "local-disk", "version": "1"}: '
                            f"version 1 of 'local-disk' is stored at {store}/")
    assert issue.endswith("/artifacts/model, which KServe's storage initializer cannot fetch (it reads s3://, gs://, "
                          "hdfs://, webhdfs://, https://<account>.blob.core.windows.net/); give the MLflow server "
                          "such an artifact store")


def test_the_proxy_needs_the_artifacts_destination(mlflow):
    assert refusal(mlflow, [model({"registeredModel": "support-bot", "alias": "champion"})],
                   registry_config(mlflow, artifactsDestination=None)) == [
        "kserve-intel:registry.artifactsDestination: is required: version 1 of 'support-bot' (alias 'champion') is "
        f"stored behind the server's artifact proxy (mlflow-artifacts:/0/{mlflow.v1_run}/artifacts/model); set it to "
        "the server's --artifacts-destination, such as s3://mlflow/artifacts, so KServe reads the store directly",
    ]


def test_s3_keys_are_required_for_an_s3_store(mlflow):
    assert refusal(mlflow, [model({"registeredModel": "support-bot", "alias": "champion"})],
                   registry_config(mlflow, s3=None)) == [
        f"kserve-intel:registry.s3.accessKeyId: is required: version 1 of 'support-bot' (alias 'champion') is read "
        f"from {mlflow.v1_uri}, and KServe's storage initializer takes S3 keys from a Secret on the predictor's "
        "ServiceAccount; set registry.s3.accessKeyId and registry.s3.secretAccessKey (secrets) and "
        "registry.s3.endpoint for a non-AWS store",
    ]


def test_every_refusal_is_reported_at_once(mlflow):
    issues = refusal(mlflow, [model({"registeredModel": "nobody", "alias": "champion"}),
                              model({"registeredModel": "support-bot", "alias": "gold"}, name="second")])
    assert [i.split(" = ")[0] for i in issues] == ["kserve-intel:models[0].source.registeredModel",
                                                  "kserve-intel:models[1].source.alias"]


# --- config rules (no server needed) -----------------------------------------------------------


def config_refusal(values: dict, secret_keys=("kserve-intel:registry",)) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(raw_config(platform="xeon", **values), list(secret_keys))
    return [issue.render() for issue in caught.value.issues]


REG = {"trackingUri": "http://mlflow.mlflow.svc:5000", "artifactsDestination": DEST}


@pytest.mark.parametrize("values,expected", [
    ({"models": [model({"registeredModel": "bot"})], "registry": REG},
     ['kserve-intel:models[0].source = {"registeredModel": "bot"}: needs exactly one of alias (e.g. champion) or '
      'version (e.g. 3)']),
    ({"models": [model({"registeredModel": "bot", "alias": "a", "version": 1})], "registry": REG},
     ['kserve-intel:models[0].source = {"alias": "a", "registeredModel": "bot", "version": "1"}: needs exactly one '
      'of alias (e.g. champion) or version (e.g. 3)']),
    ({"models": [model({"alias": "champion"})], "registry": REG},
     ["kserve-intel:models[0].source.registeredModel: is required: the registered model in MLflow"]),
    ({"models": [model({"registeredModel": "bot", "alias": "champion"})], "registry": {"artifactsDestination": DEST}},
     ["kserve-intel:registry.trackingUri: is required: models[0].source names a registered model; set the MLflow "
      "tracking server's URL, e.g. http://mlflow.mlflow.svc:5000"]),
    ({"models": [model({"registeredModel": "bot", "alias": "champion"})], "registry": {**REG, "resolve": False}},
     ["kserve-intel:models[0].source.resolved: is required when registry.resolve is false (no registry call): set "
      "{version, uri, runId} from the last resolved run, `pulumi stack output models --json` (source.resolved)"]),
    ({"models": [model({"registeredModel": "bot", "alias": "champion"}, revision="v1.0")], "registry": REG},
     ['kserve-intel:models[0].revision = "v1.0": has no effect with source (the registry version decides the '
      'weights); remove it']),
    ({"models": [{"id": BASE, "canary": {"trafficPercent": 5, "source": {"alias": "challenger"}}}], "registry": REG},
     ['kserve-intel:models[0].canary.source = {"alias": "challenger"}: needs models[0].source: a canary from the '
      'registry serves another version of a registry model']),
    ({"registry": REG},
     ['kserve-intel:registry = "[secret]": has no effect: no model, canary or adapter sets source; remove it']),
    ({"models": [model({"registeredModel": "bot", "alias": "latest"})], "registry": REG},
     ['kserve-intel:models[0].source.alias = "latest": must be an MLflow alias such as champion: letters, digits, '
      "'_' and '-' (not 'latest' nor v<number>)"]),
    ({"models": [model({"registeredModel": "bot", "version": 0})], "registry": REG},
     ['kserve-intel:models[0].source.version = 0: must be an MLflow model version: a whole number from 1, such as 3']),
    ({"models": [model({"registeredModel": "bot", "alias": "champion"})],
      "registry": {**REG, "artifactsDestination": "file:///srv/mlflow"}},
     ['kserve-intel:registry.artifactsDestination = "file:///srv/mlflow": must be a URI KServe\'s storage '
      "initializer can read (s3://, gs://, hdfs://, webhdfs://, https://<account>.blob.core.windows.net/), such as "
      "s3://mlflow/artifacts: the server's --artifacts-destination"]),
    ({"models": [model({"registeredModel": "bot", "alias": "champion"})],
      "registry": {**REG, "token": "t", "username": "u", "password": "p"}},
     ['kserve-intel:registry.token = "[secret]": choose one: token (Bearer) or username + password (basic auth)']),
    ({"models": [model({"registeredModel": "bot", "alias": "champion"})], "registry": {**REG, "username": "u"}},
     ["kserve-intel:registry.password: is required with registry.username (MLflow basic auth)"]),
    ({"models": [model({"registeredModel": "bot", "alias": "champion"})],
      "registry": {**REG, "s3": {"accessKeyId": "AKIA"}}},
     ["kserve-intel:registry.s3.secretAccessKey: is required with the other S3 key (secret): KServe's storage "
      "initializer needs both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"]),
    ({"models": [model({"registeredModel": "bot", "alias": "champion"})],
      "registry": {**REG, "s3": {"endpoint": "http://minio:9000"}}},
     ['kserve-intel:registry.s3.endpoint = "http://minio:9000": must be host[:port] of the S3 API without a scheme, '
      "such as minio.minio.svc:9000 (the scheme comes from useHttps)"]),
])
def test_config_rules(values, expected):
    assert config_refusal(values) == expected


def test_credentials_must_be_pulumi_secrets():
    values = {"models": [model({"registeredModel": "bot", "alias": "champion"})],
              "registry": {**REG, "token": "mlflow-token-value", "s3": {"accessKeyId": "AKIA", "secretAccessKey": "s"}}}
    issues = config_refusal(values, secret_keys=())
    assert issues == [
        "kserve-intel:registry.token: must be stored encrypted: run `pulumi config set --secret --path "
        "'kserve-intel:registry.token' <value>`",
        "kserve-intel:registry.s3.accessKeyId: must be stored encrypted: run `pulumi config set --secret --path "
        "'kserve-intel:registry.s3.accessKeyId' <value>`",
        "kserve-intel:registry.s3.secretAccessKey: must be stored encrypted: run `pulumi config set --secret --path "
        "'kserve-intel:registry.s3.secretAccessKey' <value>`",
    ]
    assert "mlflow-token-value" not in "\n".join(issues)


def test_a_bad_secret_value_is_never_echoed():
    values = {"models": [model({"registeredModel": "bot", "alias": "champion"})],
              "registry": {**REG, "token": ["not", "a", "string"]}}
    (issue,) = config_refusal(values)
    assert issue.startswith('kserve-intel:registry.token = "[secret]": ')


# --- the REST client sends the credentials it is given ---------------------------------------


def test_credentials_reach_the_server_as_bearer_or_basic_auth():
    import base64
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            body = b'{"error_code": "UNAUTHENTICATED"}'
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        base = {"trackingUri": url, "artifactsDestination": DEST}
        cases = [
            ({}, None, "kserve-intel:registry.token: is required: the MLflow server at {url} answered 401 "
                       "(unauthenticated); set registry.token (Bearer) or registry.username and registry.password "
                       "(basic auth), as secrets"),
            ({"token": "tok"}, "Bearer tok", "kserve-intel:registry.token: was refused by the MLflow server at {url} "
                                             "(HTTP 401): check the credentials and that the user may read the "
                                             "registered model"),
            ({"username": "ann", "password": "pw"}, "Basic " + base64.b64encode(b"ann:pw").decode(),
             "kserve-intel:registry.username: was refused by the MLflow server at {url} (HTTP 401): check the "
             "credentials and that the user may read the registered model"),
        ]
        for extra, header, message in cases:
            seen.clear()
            config = load_config(raw_config(platform="xeon", models=[model({"registeredModel": "bot", "alias": "c"})],
                                            registry={**base, **extra}), ["kserve-intel:registry"])
            with pytest.raises(ConfigError) as caught:
                build_plan(config)
            assert [i.render() for i in caught.value.issues] == [message.format(url=url)]
            assert seen == [header]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("args", "expected"), [
    (["--model", "org/m", "--served-model-name", "m"],
     ["--model", "/mnt/models/model", "--tokenizer", "/mnt/models/components/tokenizer", "--served-model-name", "m"]),
    (["org/m", "--served-model-name", "m"],
     ["/mnt/models/model", "--tokenizer", "/mnt/models/components/tokenizer", "--served-model-name", "m"]),
])
def test_mounted_args_point_both_entry_points_at_the_weights(args, expected):
    from kserve_intel.rules.registry import mounted_args

    assert mounted_args(args) == expected


# --- LoRA adapters from the registry (rules/lora.py) -------------------------------------

LORA_BASE = "Qwen/Qwen3-1.7B"


@pytest.fixture(scope="session")
def adapters(mlflow) -> dict:
    """Two adapters as teams register them: a PEFT model logged with mlflow.transformers (adapter in peft/),
    and an adapter directory logged as is; an alias on each."""
    server = mlflow.server
    peft = server.register_logged_model("sql-lora", mlflow_server.PEFT_LAYOUT)
    server.register_logged_model("sql-lora", mlflow_server.PEFT_LAYOUT)
    server.set_alias("sql-lora", "champion", "1")
    server.set_alias("sql-lora", "challenger", "2")
    plain = server.register_from_run("support-lora", mlflow_server.ADAPTER_LAYOUT)
    server.set_alias("support-lora", "champion", plain["version"])
    server.register_from_run("not-an-adapter", TRANSFORMERS_LAYOUT)
    server.register_from_run("adapter-no-weights", mlflow_server.ADAPTER_NO_WEIGHTS_LAYOUT)
    return {"sql": f"{DEST}/0/models/{peft['source'].removeprefix('models:/')}/artifacts/peft",
            "support": f"{DEST}/0/{plain['run_id']}/artifacts/model"}


def lora_model(adapter_list: list, **extra) -> dict:
    return {"id": LORA_BASE, "adapters": adapter_list, **extra}


REGISTRY_ADAPTERS = [{"name": "sql", "source": {"registeredModel": "sql-lora", "alias": "champion"}, "rank": 8},
                     {"name": "support", "source": {"registeredModel": "support-lora", "version": 1}}]


def test_registry_adapters_are_downloaded_by_the_storage_initializer_with_the_s3_keys(mlflow, adapters):
    plan = make_plan(mlflow, [lora_model(REGISTRY_ADAPTERS)], kserve={"version": "v0.20.0"})
    (m,) = plan.models
    isvc = valid(inference_service(plan, m, with_token=False), "v0.20.0")
    predictor = isvc["spec"]["predictor"]
    # The adapter directory itself: peft/ of the logged PEFT model, the run's artifact of the plain one.
    assert predictor["storageUris"] == [{"uri": adapters["sql"], "mountPath": "/mnt/lora/0-sql"},
                                        {"uri": adapters["support"], "mountPath": "/mnt/lora/1-support"}]
    args = list(predictor["model"]["args"])
    assert args[args.index("--lora-modules") + 1:] == [
        f'{{"name":"sql","path":"/mnt/lora/0-sql","base_model_name":"{LORA_BASE}"}}',
        f'{{"name":"support","path":"/mnt/lora/1-support","base_model_name":"{LORA_BASE}"}}']
    assert "storageUri" not in predictor["model"]  # the base still comes from the hub (vLLM downloads it)
    # The storage initializer reads s3:// with the keys of the Secret on the predictor's ServiceAccount.
    assert needs_s3_secret(plan)
    assert model_service_account(plan)["secrets"] == [{"name": S3_SECRET}]
    sql, support = (a.summary(m.openai_base_url) for a in m.lora.adapters)
    assert sql == {"servedModelName": "sql", "baseModel": LORA_BASE, "openaiBaseUrl": m.openai_base_url,
                   "source": {"registeredModel": "sql-lora", "alias": "champion",
                              "resolved": {"version": "1", "uri": adapters["sql"], "runId": m.lora.adapters[0].source.run_id}}}
    assert support["source"]["resolved"]["uri"] == adapters["support"] and "alias" not in support["source"]


STANDARD_CANARY_REFUSAL = "a Standard-mode canary (spec.canary) gets no storage initializer for predictor.storageUris"


def test_a_canary_tries_another_adapter_alias_and_a_moved_alias_is_a_diff(mlflow, adapters):
    # Serverless: the canary is the predictor itself, with its own storageUris. A Standard canary (spec.canary)
    # gets no storage initializer for storageUris from KServe v0.20.0 (tests/e2e/test_downloads_clocks.py), so a
    # registry adapter is refused there.
    canary = [{"name": "sql", "source": {"registeredModel": "sql-lora", "alias": "challenger"}}]
    plan = make_plan(mlflow, [lora_model(REGISTRY_ADAPTERS[:1], canary={"trafficPercent": 10, "adapters": canary})],
                     kserve={"version": "v0.20.0", "deploymentMode": "Serverless"})
    isvc = valid(inference_service(plan, plan.models[0], with_token=False), "v0.20.0")
    stable = plan.models[0].lora.adapters[0].storage["uri"]
    (tried,) = isvc["spec"]["predictor"]["storageUris"]
    assert stable == adapters["sql"] and tried["uri"] != stable and tried["uri"].endswith("/artifacts/peft")
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert plan.models[0].canary.lora.adapters[0].source.version == "2"
    text = rendered(refusal(mlflow, [lora_model(REGISTRY_ADAPTERS[:1], canary={"trafficPercent": 10,
                                                                              "adapters": canary})],
                            kserve={"version": "v0.20.0", "deploymentMode": "Standard"}))
    assert "kserve-intel:models[0].canary.adapters[0].source" in text and STANDARD_CANARY_REFUSAL in text, text
    # Promotion: the alias moves in the registry; the stable predictor's storageUris follow.
    mlflow.server.set_alias("sql-lora", "champion", "2")
    try:
        moved = make_plan(mlflow, [lora_model(REGISTRY_ADAPTERS[:1])], kserve={"version": "v0.20.0"})
        assert inference_service(moved, moved.models[0], with_token=False)["spec"]["predictor"]["storageUris"][0][
            "uri"] == tried["uri"]
    finally:
        mlflow.server.set_alias("sql-lora", "champion", "1")


def test_resolve_false_takes_the_adapters_recorded_resolution(mlflow, adapters):
    recorded = {"registeredModel": "sql-lora", "alias": "champion", "resolved": {"version": "1", "uri": adapters["sql"]}}
    values = registry_config(mlflow, trackingUri=None)
    values["resolve"] = False
    plan = make_plan(mlflow, [lora_model([{"name": "sql", "source": recorded}])], values, kserve={"version": "v0.20.0"})
    (adapter,) = plan.models[0].lora.adapters
    assert (adapter.source.live, adapter.storage["uri"]) == (False, adapters["sql"])


def rendered(issues: list[str]) -> str:
    return "\n".join(issues)


@pytest.mark.parametrize("version, base, fragment", [
    ("v0.15.2", {}, "KServe v0.15.2 has no predictor.storageUris (from v0.16.0)"),
    ("v0.13.0", {}, "it reads only the Hugging Face hub or a local path"),
    ("v0.20.0", {"localCache": {"size": "20Gi"}}, "has model.storageUri for the local model cache"),
])
def test_registry_adapters_need_the_storage_initializer(mlflow, adapters, version, base, fragment):
    m = {**lora_model(REGISTRY_ADAPTERS[:1]), **base}
    extra = {"localModelCache": {"enabled": True}} if base else {}
    text = rendered(refusal(mlflow, [m], kserve={"version": version}, **extra))
    assert "kserve-intel:models[0].adapters[0].source" in text and fragment in text, text
    assert "allowed: KServe v0.16+ without localCache on the base, or an adapter from the hub (id)" in text


@pytest.mark.parametrize("version", ["v0.16.0", "v0.20.0"])
def test_a_registry_base_joins_its_adapters_storage_uris(mlflow, adapters, version):
    # KServe refuses model.storageUri beside storageUris: the base goes to /mnt/models in the same list.
    hub = {"name": "triage", "id": "example/qwen-triage-lora", "revision": "v2"}
    m = model({"registeredModel": "support-bot", "alias": "champion"}, adapters=[REGISTRY_ADAPTERS[0], hub])
    plan = make_plan(mlflow, [m], kserve={"version": version})
    isvc = valid(inference_service(plan, plan.models[0], with_token=False), version)
    predictor = isvc["spec"]["predictor"]
    assert "storageUri" not in predictor["model"]
    assert predictor["storageUris"] == [{"uri": mlflow.v1_uri, "mountPath": "/mnt/models"},
                                        {"uri": adapters["sql"], "mountPath": "/mnt/lora/0-sql"},
                                        {"uri": "hf://example/qwen-triage-lora:v2", "mountPath": "/mnt/lora/1-triage"}]
    args = predictor["model"]["args"]
    assert args[:3] == ["/mnt/models/model", "--tokenizer", "/mnt/models/components/tokenizer"]
    assert [json.loads(a)["path"] for a in args[args.index("--lora-modules") + 1:]] == [
        "/mnt/lora/0-sql", "/mnt/lora/1-triage"]
    assert isvc["metadata"]["annotations"]["kserve-intel/registry-version"] == "1"


def test_a_registry_base_with_hub_adapters_before_0_16_keeps_storage_uri(mlflow):
    m = model({"registeredModel": "support-bot", "alias": "champion"}, adapters=[{"name": "a", "id": "example/a"}])
    plan = make_plan(mlflow, [m], kserve={"version": "v0.15.2"})
    predictor = valid(inference_service(plan, plan.models[0], with_token=False), "v0.15.2")["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == mlflow.v1_uri and "storageUris" not in predictor
    args = predictor["model"]["args"]
    assert json.loads(args[args.index("--lora-modules") + 1])["path"] == "example/a"  # vLLM downloads it


def test_a_standard_canary_of_a_registry_base_carries_its_version_and_adapters_are_refused(mlflow, adapters):
    # The canary's own registry version is its model.storageUri (the webhook's single-URI path, which a Standard
    # canary still gets); registry adapters, its own or the model's, would never be downloaded there.
    canary = {"trafficPercent": 10, "source": {"alias": "challenger"}}
    plan = make_plan(mlflow, [model({"registeredModel": "support-bot", "alias": "champion"}, canary=canary)],
                     kserve={"version": "v0.20.0", "deploymentMode": "Standard"})
    isvc = valid(inference_service(plan, plan.models[0], with_token=False), "v0.20.0")
    (variant,) = isvc["spec"]["canary"]
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == mlflow.v1_uri
    assert variant["predictor"]["model"]["storageUri"] == mlflow.v2_uri and "storageUris" not in variant["predictor"]
    for extra in ({"adapters": [{"name": "sql", "source": {"registeredModel": "sql-lora", "alias": "challenger"}}]},
                  {}):
        m = model({"registeredModel": "support-bot", "alias": "champion"}, adapters=REGISTRY_ADAPTERS[:1],
                  canary={**canary, **extra})
        text = rendered(refusal(mlflow, [m], kserve={"version": "v0.20.0", "deploymentMode": "Standard"}))
        assert "kserve-intel:models[0].canary.adapters[0].source" in text and STANDARD_CANARY_REFUSAL in text, text


@pytest.mark.parametrize("registered, fragment", [
    ("not-an-adapter", "holds no LoRA adapter: no adapter_config.json at its root nor in peft/ (it holds MLmodel, "
                       "components/, model/)"),
    ("adapter-no-weights", "has adapter_config.json but no adapter weights beside it"),
])
def test_a_registry_version_that_is_no_adapter_is_refused(mlflow, adapters, registered, fragment):
    text = rendered(refusal(mlflow, [lora_model([{"name": "x", "source": {"registeredModel": registered,
                                                                          "version": 1}}])],
                            kserve={"version": "v0.20.0"}))
    assert "kserve-intel:models[0].adapters[0].source" in text and fragment in text, text


def test_an_unknown_adapter_alias_names_the_adapters_key(mlflow, adapters):
    text = rendered(refusal(mlflow, [lora_model([{"name": "x", "source": {"registeredModel": "sql-lora",
                                                                          "alias": "nope"}}])],
                            kserve={"version": "v0.20.0"}))
    assert "kserve-intel:models[0].adapters[0].source.alias" in text and "champion (version 1)" in text, text


@pytest.mark.parametrize("adapter, key, fragment", [
    ({"name": "a"}, "models[0].adapters[0]", "needs exactly one of id"),
    ({"name": "a", "id": "x/a", "source": {"registeredModel": "m", "version": 1}}, "models[0].adapters[0]",
     "needs exactly one of id"),
    ({"name": "a", "source": {"registeredModel": "m", "version": 1}, "revision": "v1"}, "models[0].adapters[0]",
     "revision has no effect with source"),
    ({"name": "a", "source": {"registeredModel": "m", "version": 1}, "gated": True}, "models[0].adapters[0]",
     "gated has no effect with source"),
    ({"name": "a", "source": {"registeredModel": "m", "version": 1, "alias": "champion"}},
     "models[0].adapters[0].source", "needs exactly one of alias"),
    ({"name": "a", "source": {"alias": "champion"}}, "models[0].adapters[0].source.registeredModel", "is required"),
])
def test_adapter_source_config_rules(adapter, key, fragment):
    values = {"platform": "xeon", "kserve": {"version": "v0.20.0"}, "models": [lora_model([adapter])],
              "registry": {"trackingUri": "http://mlflow.example:5000"}}
    with pytest.raises(ConfigError) as caught:
        load_config(raw_config(**values))
    text = str(caught.value)
    assert f"kserve-intel:{key}" in text and fragment in text, text


def test_adapter_sources_need_the_registry():
    values = {"platform": "xeon", "kserve": {"version": "v0.20.0"},
              "models": [lora_model([{"name": "a", "source": {"registeredModel": "m", "version": 1}}])]}
    with pytest.raises(ConfigError) as caught:
        load_config(raw_config(**values))
    assert "kserve-intel:registry.trackingUri: is required: models[0].adapters[0].source names a registered model" in str(
        caught.value)


def _adapter_layout(**config) -> dict:
    return {**mlflow_server.ADAPTER_LAYOUT,
            "adapter_config.json": json.dumps({**mlflow_server.ADAPTER_CONFIG_JSON, **config})}


def test_the_registry_adapters_own_config_is_checked_against_the_servers_limits(mlflow, adapters):
    # adapter_config.json read through the registry: what vLLM would refuse at start is refused now
    # (vLLM's own verdicts per stack: tests/test_serving_stacks.py PEFT_CASES).
    server = mlflow.server
    for name, config in (("rank-32-lora", {"r": 32}), ("dora-lora", {"use_dora": True}),
                         ("bias-lora", {"bias": "lora_only"})):
        server.register_from_run(name, _adapter_layout(**config))
    server.register_logged_model("pattern-lora", {**mlflow_server.PEFT_LAYOUT, "peft/adapter_config.json": json.dumps(
        {**mlflow_server.ADAPTER_CONFIG_JSON, "rank_pattern": {"q_proj": 64}})})

    def text(name, **extra):
        adapter = {"name": "x", "source": {"registeredModel": name, "version": 1}}
        return rendered(refusal(mlflow, [lora_model([adapter], **extra)], kserve={"version": "v0.20.0"}))

    message = text("rank-32-lora")
    assert ("kserve-intel:models[0].adapters[0].source" in message and "version 1 of 'rank-32-lora' has LoRA rank 32"
            in message and "above lora.maxLoraRank (16)" in message and "one of 32, 64, 128, 256, 320, 512" in message), message
    assert "has LoRA rank 64" in text("pattern-lora")  # rank_pattern counts (through peft/ of a logged model)
    assert "is a DoRA adapter (use_dora), which vLLM does not load" in text("dora-lora")
    assert "has bias 'lora_only', which vLLM on serving stack vllm-0.33 refuses (bias: none only)" in text("bias-lora")
    # Raising the limit lets the rank-32 adapter in; a rank in the config that disagrees is warned about.
    plan = make_plan(mlflow, [lora_model([{"name": "x", "rank": 16, "source": {"registeredModel": "rank-32-lora",
                                                                                "version": 1}}],
                                         lora={"maxLoraRank": 32})], kserve={"version": "v0.20.0"})
    (adapter,) = plan.models[0].lora.adapters
    assert adapter.source.adapter.rank == 32
    assert any("rank is 16 in the config but 32 in version 1 of 'rank-32-lora'" in w for w in plan.warnings)
