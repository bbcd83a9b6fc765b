"""Guardrails over feature combinations: the features built apart must hold together.

Each case evaluates the real program (`run_stack`) with several features on at
once and checks, for every registered resource:

(i)   each Kubernetes object validates strictly against the vendored schemas of
      the stack's KServe version (secrets redacted as the renderer does);
(ii)  the policy pack reports no violation (the same call the engine makes);
(iii) no plaintext secret (HF token, Keycloak client secret) in any input, output
      or warning: only inside a value Pulumi marks secret.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from kserve_intel import naming
from offline.validation import validate_objects
from offline.engine import is_secret, redact
from tests.conftest import TOKEN, PreviewResolver, run_stack
from tests.test_policy import _stack_violations

CLIENT_SECRET = "keycloak-client-secret-never-in-plaintext"
KEYCLOAK = {"clientId": "kserve-models", "clientSecret": CLIENT_SECRET}
APISIX = {"enabled": True, "host": "llm.example.com", "auth": {"keycloak": KEYCLOAK}}
INGRESS = {"enabled": True, "host": "llm.example.com", "tls": {"secretName": "llm-tls"}}
GATEWAY = {"enabled": True, "gateway": {"name": "inference", "namespace": "gateways"}}
GENAI = {"enabled": True}
MONITORING = {"enabled": True}
# Every route; Gateway API is refused in Serverless mode (rules/traffic.py), so those cases leave it out.
ROUTES = {"ingress": INGRESS, "apisix": APISIX, "gatewayApi": GATEWAY, "genaiGateway": GENAI}
SERVERLESS_ROUTES = {"ingress": INGRESS, "apisix": APISIX, "genaiGateway": GENAI}
CANARY = {"trafficPercent": 20, "image": "opea/vllm-gaudi:1.23.0"}
REVISION = "a09a35458c702b33eeacc393d103063234e8bc28"

CUSTOM = {"name": "llamacpp", "image": "ghcr.io/ggml-org/llama.cpp:server-b6000", "platforms": ["xeon"],
          "args": ["--host", "0.0.0.0", "--port", "8081", "-hf", "$(MODEL_ID)"], "port": 8081,
          "healthPath": "/health", "metricsPath": "/metrics"}

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    # name: (committed stack, overrides)
    "xeon-routes": ("xeon", {**ROUTES, "monitoring": MONITORING}),
    "gaudi-routes": ("gaudi", {**ROUTES, "monitoring": MONITORING}),
    "gaudi3-routes": ("gaudi3", {**ROUTES, "monitoring": MONITORING}),
    "xeon-serverless-v013": ("xeon", {
        "kserve": {"version": "v0.13.0", "deploymentMode": "Serverless"}, **SERVERLESS_ROUTES,
        "monitoring": MONITORING, "autoscaling": {"enabled": True, "minReplicas": 0, "maxReplicas": 2},
    }),
    "gaudi3-serverless-istio": ("gaudi3", {
        "kserve": {"version": "v0.20.0", "deploymentMode": "Knative", "networking": "istio"}, **SERVERLESS_ROUTES,
        "monitoring": MONITORING,
    }),
    "gaudi-keda-v013": ("gaudi", {
        "autoscaling": {"enabled": True, "engine": "keda", "maxReplicas": 2}, **ROUTES, "monitoring": MONITORING,
    }),
    "gaudi3-keda-v020": ("gaudi3", {
        "autoscaling": {"enabled": True, "engine": "keda", "metric": "ttft", "maxReplicas": 3},
        **ROUTES, "monitoring": MONITORING,
    }),
    "gaudi3-canary-standard": ("gaudi3", {
        "models": [{"id": "Qwen/Qwen2.5-32B-Instruct", "revision": REVISION, "canary": CANARY}],
        "storage": {"accessMode": "ReadWriteMany"}, **ROUTES, "monitoring": MONITORING,
    }),
    "gaudi3-canary-serverless": ("gaudi3", {
        "kserve": {"version": "v0.20.0", "deploymentMode": "Serverless"},
        "models": [{"id": "Qwen/Qwen2.5-32B-Instruct", "revision": REVISION, "canary": CANARY}],
        **SERVERLESS_ROUTES, "monitoring": MONITORING,
    }),
    "xeon-local-cache-v020": ("xeon", {
        "kserve": {"version": "v0.20.0"}, "localModelCache": {"enabled": True},
        "models": [{"id": "Qwen/Qwen3-4B-Instruct-2507", "localCache": {"size": "20Gi"}, "revision": "v1.0"},
                   "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"],
        **ROUTES, "monitoring": MONITORING,
    }),
    "gaudi-local-cache-keda-v015": ("gaudi", {
        "kserve": {"version": "v0.15.2"}, "localModelCache": {"enabled": True},
        "models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "localCache": {"size": "30Gi"}}],
        "autoscaling": {"enabled": True, "engine": "keda", "maxReplicas": 2}, **ROUTES, "monitoring": MONITORING,
    }),
    # Multi-node runs on v0.15.x only (catalog/kserve.py `multinode_broken`).
    "gaudi-multinode-v015": ("gaudi", {
        "kserve": {"version": "v0.15.2"}, "autoscaling": {"enabled": False},
        "models": [{"id": "meta-llama/Llama-3.1-405B-Instruct", "revision": REVISION}, "Qwen/Qwen2.5-7B-Instruct"],
        "storage": {"size": "1Ti", "accessMode": "ReadWriteMany"}, **ROUTES, "monitoring": MONITORING,
    }),
    # LoRA (docs/lora.md): a registry base with a gated hub adapter and a registry adapter (recorded
    # resolutions, no MLflow call) on storageUris, a canary with a new adapter set, every route.
    "xeon-lora-registry-canary-v020": ("xeon", {
        "kserve": {"version": "v0.20.0", "deploymentMode": "Standard"}, "autoscaling": {"enabled": False},
        "registry": {"resolve": False},
        "models": [{"id": "Qwen/Qwen3-4B-Instruct-2507", "name": "support-bot",
                    "source": {"registeredModel": "support-bot", "alias": "champion",
                               "resolved": {"version": "3", "uri": "gs://models/support-bot/3"}},
                    "adapters": [{"name": "sql", "id": "example-org/qwen3-sql-lora", "revision": "v1", "gated": True},
                                 {"name": "billing", "source": {"registeredModel": "billing-lora", "version": 2,
                                                                "resolved": {"version": "2",
                                                                             "uri": "gs://models/billing/2/peft"}}}],
                    # A Standard canary's adapters are downloaded by vLLM (no storageUris there): no revision.
                    "canary": {"trafficPercent": 10, "adapters": [{"name": "sql", "id": "example-org/qwen3-sql-lora",
                                                                   "gated": True}]}},
                   {"id": "Qwen/Qwen3-1.7B", "adapters": [{"name": "triage", "id": "example-org/qwen3-triage-lora"}]}],
        **ROUTES, "monitoring": MONITORING,
    }),
    "gaudi-lora-serverless-v013": ("gaudi", {
        "kserve": {"version": "v0.13.0", "deploymentMode": "Serverless"}, "autoscaling": {"enabled": False},
        "models": [{"id": "Qwen/Qwen2.5-7B-Instruct",
                    "adapters": [{"name": "sql", "id": "example-org/qwen2.5-sql-lora", "gated": True},
                                 {"name": "chat", "id": "example-org/qwen2.5-chat-lora"}],
                    "canary": {"trafficPercent": 20, "adapters": [{"name": "sql", "id": "example-org/sql-v2"}]}}],
        **SERVERLESS_ROUTES, "monitoring": MONITORING,
    }),
    # A serving stack per model: the old stacks beside the new defaults, each with its own runtime.
    "xeon-two-stacks-v013": ("xeon", {
        "models": [{"id": "Qwen/Qwen3-4B-Instruct-2507", "servingStack": "vllm-0.10"},
                   "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"],
        "autoscaling": {"enabled": True, "maxReplicas": 2}, **ROUTES, "monitoring": MONITORING,
    }),
    # Backends besides vLLM (TGI, OVMS, a custom runtime) beside vLLM, each with its own runtime.
    "xeon-backends-v013": ("xeon", {
        "models": ["Qwen/Qwen3-4B-Instruct-2507", {"id": "Qwen/Qwen3-1.7B", "name": "qwen-tgi", "backend": "tgi"},
                   # Served names unique across models (issue 22): TGI serves under the id, the others get their own.
                   {"id": "Qwen/Qwen3-1.7B", "name": "qwen-ovms", "servedModelName": "qwen-ovms", "backend": "ovms"},
                   {"id": "Qwen/Qwen3-1.7B", "name": "qwen-own", "servedModelName": "qwen-own", "backend": "llamacpp"}],
        "runtimes": {"custom": [CUSTOM]}, **ROUTES, "monitoring": MONITORING,
        "networkPolicy": {"enabled": True},
    }),
    "gaudi3-tgi-v020": ("gaudi3", {
        # TGI's Gaudi image is built for Gaudi software 1.21: nodes declared on 1.24 would be refused (issue 22).
        "backend": "tgi", "gaudiSoftware": "1.21.0",
        "models": ["Qwen/Qwen2.5-7B-Instruct", "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"],
        **ROUTES, "monitoring": MONITORING,
    }),
    "gaudi-two-stacks-multinode-v015": ("gaudi", {
        # Two Gaudi software generations in one stack: only without a gaudiSoftware that rules one out (issue 22).
        "gaudiSoftware": None,
        "kserve": {"version": "v0.15.2"}, "autoscaling": {"enabled": False},
        "models": [{"id": "meta-llama/Llama-3.1-405B-Instruct", "revision": REVISION, "servingStack": "vllm-fork-1.22"},
                   "Qwen/Qwen2.5-7B-Instruct"],
        "storage": {"size": "1Ti", "accessMode": "ReadWriteMany"}, **ROUTES, "monitoring": MONITORING,
    }),
}

INGRESS_TYPE = "kubernetes:networking.k8s.io/v1:Ingress"
APISIX_ROUTE = "kubernetes:apisix.apache.org/v2:ApisixRoute"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


@pytest.fixture(scope="module")
def evaluations():
    return {
        # As a preview sends them to the policy pack: images pinned by digest.
        case: run_stack(stack, hfToken=TOKEN, image_resolver=PreviewResolver(), **overrides)
        for case, (stack, overrides) in CASES.items()
    }


def _platform(evaluation) -> str:
    return evaluation.outputs["platform"]


@pytest.mark.parametrize("case", CASES)
def test_every_object_validates_strictly(evaluations, case):
    evaluation = evaluations[case]
    objects = [redact(obj) for obj in evaluation.objects()]
    assert objects
    assert validate_objects(objects, kserve_version=evaluation.outputs["kserveVersion"]) == []


@pytest.mark.parametrize("case", CASES)
def test_policy_pack_passes_every_resource(evaluations, case):
    evaluation = evaluations[case]
    assert _stack_violations(evaluation, _platform(evaluation)) == {}


@pytest.mark.parametrize("case", CASES)
def test_no_plaintext_secret_anywhere(evaluations, case):
    evaluation = evaluations[case]
    found = {TOKEN: 0, CLIENT_SECRET: 0}

    def visit(value: Any, where: str) -> None:
        if is_secret(value):
            for secret in found:
                found[secret] += secret in json.dumps(value)
            return
        if isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, f"{where}[{index}]")
        else:
            for secret in found:
                assert secret not in str(value), where

    for registration in evaluation.registrations:
        visit(registration.inputs, registration.urn)
    text = json.dumps(evaluation.outputs) + "\n".join(evaluation.warnings)
    assert TOKEN not in text and CLIENT_SECRET not in text
    # Each in its own Secret, marked secret; the token also in the copy KServe's
    # local-model download jobs read in their namespace.
    copies = 2 if "localModelCache" in CASES[case][1] else 1
    assert found == {TOKEN: copies, CLIENT_SECRET: 1}


# --- what the combinations must mean, not only pass --------------------------------


def _of(evaluation, type_: str) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in evaluation.of_type(type_)}


@pytest.mark.parametrize("case", ["xeon-serverless-v013", "gaudi3-serverless-istio", "gaudi3-canary-serverless"])
def test_serverless_routes_send_the_host_knative_routes_by(evaluations, case):
    evaluation = evaluations[case]
    ingresses, routes = _of(evaluation, INGRESS_TYPE), _of(evaluation, APISIX_ROUTE)
    assert evaluation.of_type(HTTP_ROUTE) == []
    for model in evaluation.outputs["models"]:
        host = f"{model['name']}-predictor.{model['namespace']}.svc.cluster.local"
        assert model["inClusterUrl"] == f"http://{host}"
        ingress = ingresses[naming.route_name(model["name"])]
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/upstream-vhost"] == host
        rule = routes[naming.route_name(model["name"])]["spec"]["http"][0]
        (rewrite,) = [p for p in rule["plugins"] if p["name"] == "proxy-rewrite"]
        assert rewrite["config"]["host"] == host
        # Knative splits a canary behind the one host: a single backend, no canary Ingress.
        assert rule["backends"] == [{"serviceName": f"{model['name']}-predictor", "servicePort": 80}]
        assert naming.canary_route_name(model["name"]) not in ingresses
    (models_list,) = [c for c in evaluation.of_type(CONFIG_MAP) if c.inputs["metadata"]["name"] == "kserve-intel-models"]
    assert all(f"{m['name']}-predictor.{m['namespace']}.svc.cluster.local/v1" in models_list.inputs["data"]["config.yaml"]
               for m in evaluation.outputs["models"])


def test_serverless_external_url_follows_the_networking_layer(evaluations):
    (kourier,) = evaluations["xeon-serverless-v013"].outputs["models"][:1]
    assert kourier["externalUrl"] == f"http://{kourier['name']}-predictor.intel-inference.example.com"
    istio = evaluations["gaudi3-serverless-istio"].outputs["models"][0]
    assert istio["externalUrl"] == f"http://{istio['name']}-intel-inference.example.com"


def test_standard_canary_is_split_by_every_route(evaluations):
    evaluation = evaluations["gaudi3-canary-standard"]
    (model,) = evaluation.outputs["models"]
    name = model["name"]
    canary_service = f"{name}-canary-predictor"
    ingresses = _of(evaluation, INGRESS_TYPE)
    main, canary = ingresses[f"{name}-route"], ingresses[f"{name}-route-canary"]
    assert canary["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary"] == "true"
    assert canary["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "20"
    assert "nginx.ingress.kubernetes.io/canary" not in main["metadata"]["annotations"]
    main_path, canary_path = main["spec"]["rules"][0], canary["spec"]["rules"][0]
    assert canary_path["host"] == main_path["host"]
    assert canary_path["http"]["paths"][0]["path"] == main_path["http"]["paths"][0]["path"]
    assert canary_path["http"]["paths"][0]["backend"]["service"]["name"] == canary_service
    assert main_path["http"]["paths"][0]["backend"]["service"]["name"] == f"{name}-predictor"
    (rule,) = _of(evaluation, APISIX_ROUTE)[f"{name}-route"]["spec"]["http"]
    assert rule["backends"] == [
        {"serviceName": f"{name}-predictor", "servicePort": 80, "weight": 80},
        {"serviceName": canary_service, "servicePort": 80, "weight": 20},
    ]
    (http_rule,) = _of(evaluation, HTTP_ROUTE)[f"{name}-route"]["spec"]["rules"]
    assert [(b["name"], b["weight"]) for b in http_rule["backendRefs"]] == [(f"{name}-predictor", 80), (canary_service, 20)]
    # The canary the routes name is the one KServe runs.
    (isvc,) = evaluation.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    assert isvc.inputs["spec"]["canary"][0]["predictor"]["name"] == "canary"
    assert isvc.inputs["spec"]["canary"][0]["trafficPercent"] == 20
    # The canary Ingress is created with the routes, after the model is Ready.
    (canary_reg,) = [r for r in evaluation.of_type(INGRESS_TYPE) if r.inputs["metadata"]["name"] == f"{name}-route-canary"]
    assert isvc.urn in canary_reg.dependencies


def test_lora_registry_canary_holds_together(evaluations):
    evaluation = evaluations["xeon-lora-registry-canary-v020"]
    isvcs = _of(evaluation, "kubernetes:serving.kserve.io/v1beta1:InferenceService")
    bot = isvcs["support-bot"]["spec"]
    # The registry base joins its adapters' storageUris (no model.storageUri beside them). The Standard canary
    # gets no storage initializer for storageUris (KServe v0.20.0 components/predictor.go:913-940): its base is
    # its own model.storageUri (the webhook's single-URI path) and vLLM downloads its hub adapter.
    assert [u["mountPath"] for u in bot["predictor"]["storageUris"]] == ["/mnt/models", "/mnt/lora/0-sql",
                                                                         "/mnt/lora/1-billing"]
    (canary,) = bot["canary"]
    assert "storageUris" not in canary["predictor"]
    assert canary["predictor"]["model"]["storageUri"] == "gs://models/support-bot/3"
    assert '"path":"example-org/qwen3-sql-lora"' in " ".join(canary["predictor"]["model"]["args"])
    assert "storageUri" not in bot["predictor"]["model"]
    # The gated adapter's token reaches the storage initializer through the models' ServiceAccount.
    (account,) = _of(evaluation, "kubernetes:core/v1:ServiceAccount").values()
    assert account["secrets"] == [{"name": naming.HF_TOKEN_SECRET}]
    # Every served name in the outputs, with the base's URL.
    names = [(m["servedModelName"], [a["servedModelName"] for a in m.get("adapters", [])])
             for m in evaluation.outputs["models"]]
    assert names == [("support-bot", ["sql", "billing"]), ("Qwen/Qwen3-1.7B", ["triage"])]


def test_models_on_two_stacks_name_their_own_runtimes(evaluations):
    csr = "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime"
    isvc = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
    for case, expected in {
        "xeon-two-stacks-v013": {"intel-xeon-vllm-0-10", "intel-vllm-xeon"},
        "gaudi-two-stacks-multinode-v015": {"intel-gaudi-vllm-fork-1-22-multinode", "intel-vllm-gaudi"},
    }.items():
        evaluation = evaluations[case]
        used = {r.inputs["spec"]["predictor"]["model"]["runtime"] for r in evaluation.of_type(isvc)}
        assert used == expected, case
        # Only what a model uses: the fork's single-node runtime is not created for a multi-node model.
        assert used == {r.inputs["metadata"]["name"] for r in evaluation.of_type(csr)}, case
