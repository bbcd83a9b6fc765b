"""The production traffic path: config rules, exact objects, schema validation,
path rewrites with real request paths, and the program wiring (secrets never in plaintext)."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from kserve_intel import naming
from kserve_intel.builders import kserve as kserve_builders
from kserve_intel.builders import traffic
from kserve_intel.builders.identity import model_service_account
from kserve_intel.builders.model import inference_service
from kserve_intel.builders.network import allowed_source_namespaces, model_network_policy
from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from offline.validation import validate_object
from offline.engine import is_secret
from tests.conftest import TOKEN, raw_config, run_stack
from tests.test_builders import PLATFORMS, VERSIONS, make_plan

CLIENT_SECRET = "keycloak-client-secret-never-in-plaintext"
KEYCLOAK = {"clientId": "kserve-models", "clientSecret": CLIENT_SECRET}
APISIX = {"enabled": True, "host": "llm.example.com", "auth": {"keycloak": KEYCLOAK}}
INGRESS = {"enabled": True, "host": "llm.example.com", "tls": {"secretName": "llm-tls"}}
GATEWAY = {"enabled": True, "gateway": {"name": "inference", "namespace": "gateways"}}
ALL_ROUTES = {"apisix": APISIX, "ingress": INGRESS, "gatewayApi": GATEWAY, "genaiGateway": {"enabled": True}}

APISIX_ROUTE = "kubernetes:apisix.apache.org/v2:ApisixRoute"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
INGRESS_TYPE = "kubernetes:networking.k8s.io/v1:Ingress"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SA = "kubernetes:core/v1:ServiceAccount"
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def plan_with(platform="xeon", version="v0.20.0", **extra):
    return make_plan(platform, version, **extra)


def secret_plan(platform="xeon", version="v0.20.0", **extra):
    from kserve_intel.plan import build_plan
    from tests.test_builders import MODELS

    values = {"platform": platform, "kserve": {"version": version}, "models": MODELS[platform], "hfToken": "hf_x", **extra}
    return build_plan(load_config(raw_config(**values), ["kserve-intel:hfToken", "kserve-intel:apisix"]))


# --- config ------------------------------------------------------------------------


def test_traffic_defaults_match_the_documented_contract():
    config = load_config(raw_config(platform="xeon"))
    ingress = config.ingress
    assert (ingress.enabled, ingress.class_name, ingress.host, ingress.routing, ingress.tls.secret_name,
            ingress.annotations, ingress.controller_namespace) == (False, "nginx", "", "path", "", {}, "ingress-nginx")
    apisix = config.apisix
    assert (apisix.enabled, apisix.gateway_namespace, apisix.ingress_class_name, apisix.host, apisix.auth) == (
        False, "auth-apisix", "apisix", "", None)
    limit = apisix.rate_limit
    assert (limit.enabled, limit.requests_per_minute, limit.burst, limit.key) == (True, 60, 20, "remote_addr")
    assert (config.gateway_api.enabled, config.gateway_api.routes, config.gateway_api.gateway) == (False, "stack", None)
    assert (config.genai_gateway.enabled, config.genai_gateway.namespace, config.genai_gateway.config_map_name) == (
        False, "genai-gateway", "kserve-intel-models")
    policy = config.network_policy
    assert (policy.enabled, policy.allow_from, policy.monitoring_namespace) == (True, [], "monitoring")
    assert (policy.egress.hub, policy.egress.except_cidrs, policy.egress.proxy) == (
        "direct", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], None)
    assert (config.validate_token, config.hf_endpoint) == (True, "https://huggingface.co")
    keycloak = load_config(raw_config(platform="xeon", models=["Qwen/Qwen3-1.7B"], apisix=APISIX),
                           ["kserve-intel:apisix"]).apisix.auth.keycloak
    assert keycloak.discovery_url == "http://keycloak.default.svc.cluster.local/realms/master/.well-known/openid-configuration"
    assert (keycloak.realm, keycloak.token_validation) == ("master", "introspection")


BAD = [
    ({"ingress": {"host": "llm.example.com"}}, ["kserve-intel:ingress.host", "has no effect unless ingress.enabled"]),
    ({"ingress": {"enabled": True, "routing": "host"}}, ["kserve-intel:ingress.host", "routing 'host'"]),
    ({"ingress": {"enabled": True, "host": "LLM_bad"}}, ["kserve-intel:ingress.host", "DNS host name"]),
    ({"ingress": {"enabled": True, "annotations": {"bad key!": "x"}}}, ["ingress.annotations", "annotation key"]),
    ({"apisix": {"enabled": True}}, ["kserve-intel:apisix.auth.keycloak", "never exposed without authentication"]),
    ({"apisix": {"host": "x.example.com"}}, ["kserve-intel:apisix.host", "unless apisix.enabled"]),
    ({"apisix": {**APISIX, "rateLimit": {"enabled": False, "burst": 5}}}, ["apisix.rateLimit.burst", "no effect"]),
    ({"apisix": {**APISIX, "rateLimit": {"requestsPerMinute": 0}}}, ["apisix.rateLimit.requestsPerMinute", "greater than or equal to 1"]),
    ({"apisix": {"enabled": True, "auth": {"keycloak": {"clientId": "x"}}}}, ["apisix.auth.keycloak.clientSecret", "required"]),
    ({"apisix": {"enabled": True, "auth": {"keycloak": {**KEYCLOAK, "discoveryUrl": "keycloak/realms"}}}},
     ["apisix.auth.keycloak.discoveryUrl", "http:// or https:// URL"]),
    ({"gatewayApi": {"enabled": True}}, ["kserve-intel:gatewayApi.gateway", "is required"]),
    ({"gatewayApi": {**GATEWAY, "routes": "kserve", "host": "a.example.com"}}, ["gatewayApi.host", "routes 'kserve'"]),
    ({"gatewayApi": {**GATEWAY, "routes": "kserve"}, "kserve": {"version": "v0.14.1"}}, ["gatewayApi.routes", "v0.15.0 or later"]),
    ({"gatewayApi": {**GATEWAY, "routes": "kserve"}, "kserve": {"install": False}}, ["gatewayApi.routes", "kserve.install is false"]),
    ({"gatewayApi": {"routes": "kserve"}}, ["gatewayApi.routes", "unless gatewayApi.enabled"]),
    ({"gatewayApi": GATEWAY, "kserve": {"deploymentMode": "Serverless"}},
     ["kserve-intel:gatewayApi.enabled", "kserve.deploymentMode Serverless", "ExternalName", "ingress/apisix"]),
    ({"gatewayApi": {**GATEWAY, "routes": "kserve"}, "kserve": {"version": "v0.20.0", "deploymentMode": "Knative"}},
     ["kserve-intel:gatewayApi.enabled", "HTTPRoutes only in RawDeployment/Standard mode"]),
    ({"genaiGateway": {"namespace": "litellm"}}, ["genaiGateway.namespace", "unless genaiGateway.enabled"]),
    ({"networkPolicy": {"enabled": False, "monitoringNamespace": "prom"}}, ["networkPolicy.monitoringNamespace", "networkPolicy.enabled is false"]),
    ({"networkPolicy": {"allowFrom": [{}]}}, ["networkPolicy.allowFrom[0]", "exactly one of namespace or namespaceLabels"]),
    ({"networkPolicy": {"allowFrom": [{"namespace": "a", "namespaceLabels": {"x": "y"}}]}}, ["allowFrom[0]", "exactly one"]),
    ({"networkPolicy": {"egress": {"hub": "proxy"}}}, ["networkPolicy.egress.proxy", "is required when hub is 'proxy'"]),
    ({"networkPolicy": {"egress": {"hub": "proxy", "proxy": {"port": 3128}}}}, ["egress.proxy", "exactly one of cidr or namespace"]),
    ({"networkPolicy": {"egress": {"proxy": {"cidr": "10.1.0.0/16", "port": 3128}}}}, ["egress.proxy", "unless networkPolicy.egress.hub is 'proxy'"]),
    ({"networkPolicy": {"egress": {"hub": "none", "exceptCidrs": ["10.0.0.0/8"]}}}, ["egress.exceptCidrs", "unless networkPolicy.egress.hub is 'direct'"]),
    ({"networkPolicy": {"egress": {"exceptCidrs": ["10.0.0.1/8"]}}}, ["egress.exceptCidrs[0]", "CIDR block"]),
    ({"validateToken": False}, ["kserve-intel:validateToken", "without hfToken"]),
    ({"hfEndpoint": "ftp://mirror"}, ["kserve-intel:hfEndpoint", "http:// or https:// URL"]),
    ({"models": [{"id": "Qwen/Qwen2.5-7B-Instruct", "gated": False, "env": {"HF_ENDPOINT": "x"}}]}, ["HF_ENDPOINT is set by the program", "hfEndpoint"]),
]


@pytest.mark.parametrize("values,fragments", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_traffic_config_names_key_value_and_allowed(values, fragments):
    with pytest.raises(ConfigError) as caught:
        load_config(raw_config(platform="xeon", **values), ["kserve-intel:apisix"])
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message


def test_plaintext_client_secret_is_refused_and_never_echoed():
    with pytest.raises(ConfigError) as caught:
        load_config(raw_config(platform="xeon", apisix=APISIX))
    assert "apisix.auth.keycloak.clientSecret: must be stored encrypted" in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)
    with pytest.raises(ConfigError) as caught:  # a wrongly typed secret is not echoed either
        load_config(raw_config(platform="xeon", apisix={"enabled": True, "auth": {"keycloak": {"clientId": "a", "clientSecret": 12345}}}),
                    ["kserve-intel:apisix"])
    assert "12345" not in str(caught.value) and "[secret]" in str(caught.value)


# --- builders: exact fields ----------------------------------------------------------


def test_apisix_route_authenticates_limits_and_rewrites():
    plan = secret_plan(apisix={**APISIX, "rateLimit": {"requestsPerMinute": 120, "burst": 10}})
    model = plan.models[0]
    route = traffic.apisix_route(plan, model)
    assert route["metadata"]["name"] == f"{model.name}-route" and route["metadata"]["namespace"] == "intel-inference"
    assert route["spec"]["ingressClassName"] == "apisix"
    (rule,) = route["spec"]["http"]
    assert rule["match"] == {"paths": [f"/{model.name}/*"], "hosts": ["llm.example.com"]}
    assert rule["backends"] == [{"serviceName": f"{model.name}-predictor", "servicePort": 80}]
    assert rule["timeout"] == {"connect": "10s", "read": "600s", "send": "600s"}
    plugins = {p["name"]: p for p in rule["plugins"]}
    oidc = plugins["openid-connect"]
    assert oidc["enable"] is True and oidc["secretRef"] == "apisix-keycloak-client"
    assert oidc["config"] == {
        "client_id": "kserve-models",
        "discovery": "http://keycloak.default.svc.cluster.local/realms/master/.well-known/openid-configuration",
        "bearer_only": True, "realm": "master", "scope": "openid",
    }
    assert "client_secret" not in json.dumps(route)
    assert plugins["limit-req"]["config"] == {
        "rate": 2.0, "burst": 10, "nodelay": True, "key_type": "var", "key": "remote_addr", "rejected_code": 429,
    }
    assert plugins["proxy-rewrite"]["config"] == {"regex_uri": [f"^/{model.name}/(.*)", "/$1"]}


def test_apisix_jwks_no_host_and_no_rate_limit():
    apisix = {"enabled": True, "auth": {"keycloak": {**KEYCLOAK, "tokenValidation": "jwks"}, "bearerOnly": False},
              "rateLimit": {"enabled": False}}
    plan = secret_plan(apisix=apisix)
    (rule,) = traffic.apisix_route(plan, plan.models[0])["spec"]["http"]
    assert "hosts" not in rule["match"]  # never an empty host
    names = [p["name"] for p in rule["plugins"]]
    assert names == ["openid-connect", "proxy-rewrite"]
    assert rule["plugins"][0]["config"]["use_jwks"] is True
    assert rule["plugins"][0]["config"]["bearer_only"] is False


def test_oidc_secret_has_no_data_in_the_builder():
    secret = traffic.oidc_client_secret(secret_plan(apisix=APISIX))
    assert secret["metadata"]["name"] == naming.OIDC_SECRET and "stringData" not in secret and "data" not in secret


def test_ingress_path_routing_rewrites_with_ingress_nginx():
    plan = plan_with(ingress={**INGRESS, "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "64m"}})
    model = plan.models[0]
    ingress = traffic.ingress(plan, model)
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/rewrite-target"] == "/$2"
    assert annotations["nginx.ingress.kubernetes.io/use-regex"] == "true"
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "600"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "64m"  # user wins
    assert ingress["spec"] == {
        "ingressClassName": "nginx",
        "rules": [{"host": "llm.example.com", "http": {"paths": [{
            "path": f"/{model.name}(/|$)(.*)", "pathType": "ImplementationSpecific",
            "backend": {"service": {"name": f"{model.name}-predictor", "port": {"number": 80}}},
        }]}}],
        "tls": [{"secretName": "llm-tls", "hosts": ["llm.example.com"]}],
    }


def test_ingress_host_routing_gives_each_model_a_host_without_rewrite():
    plan = plan_with(ingress={"enabled": True, "routing": "host", "host": "llm.example.com", "className": "traefik"})
    model = plan.models[0]
    ingress = traffic.ingress(plan, model)
    assert "nginx.ingress.kubernetes.io/rewrite-target" not in ingress["metadata"]["annotations"]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == f"{model.name}.llm.example.com"
    assert rule["http"]["paths"][0]["path"] == "/" and rule["http"]["paths"][0]["pathType"] == "Prefix"
    assert ingress["spec"]["ingressClassName"] == "traefik" and "tls" not in ingress["spec"]


def test_ingress_without_host_matches_any_host():
    plan = plan_with(ingress={"enabled": True})
    (rule,) = traffic.ingress(plan, plan.models[0])["spec"]["rules"]
    assert "host" not in rule


def test_http_route_rewrites_prefix_to_the_predictor():
    plan = plan_with(gatewayApi={**GATEWAY, "host": "llm.example.com", "gateway": {**GATEWAY["gateway"], "sectionName": "https"}})
    model = plan.models[0]
    route = traffic.http_route(plan, model)
    assert route["spec"] == {
        "parentRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "inference",
                        "namespace": "gateways", "sectionName": "https"}],
        "hostnames": ["llm.example.com"],
        "rules": [{
            "matches": [{"path": {"type": "PathPrefix", "value": f"/{model.name}"}}],
            "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}],
            "backendRefs": [{"group": "", "kind": "Service", "name": f"{model.name}-predictor", "port": 80}],
            "timeouts": {"request": "10m"},
        }],
    }


def test_kserve_managed_routes_configure_the_controller_and_create_no_http_route():
    plan = plan_with(gatewayApi={**GATEWAY, "routes": "kserve"})
    values = kserve_builders.controller_release(plan).values
    assert values["kserve"]["controller"]["gateway"]["ingressGateway"] == {
        "enableGatewayApi": True, "kserveGateway": "gateways/inference"}
    stack = plan_with(gatewayApi=GATEWAY)
    assert "ingressGateway" not in kserve_builders.controller_release(stack).values["kserve"]["controller"]["gateway"]


def test_litellm_model_list_points_at_each_openai_base_url():
    plan = plan_with(genaiGateway={"enabled": True, "namespace": "litellm", "configMapName": "models"})
    config_map = traffic.genai_gateway_models(plan)
    assert config_map["metadata"]["namespace"] == "litellm" and config_map["metadata"]["name"] == "models"
    import yaml

    document = yaml.safe_load(config_map["data"]["config.yaml"])
    assert document == {"model_list": [
        {"model_name": m.served_model_name,
         "litellm_params": {"model": f"hosted_vllm/{m.served_model_name}",
                            "api_base": f"http://{m.name}-predictor.intel-inference.svc.cluster.local/v1"},
         "model_info": {"id": f"intel-inference/{m.name}"}}
        for m in plan.models
    ]}


def test_network_policy_allows_only_routing_and_observing_namespaces_on_8080():
    plan = secret_plan(**ALL_ROUTES, networkPolicy={"allowFrom": [{"namespace": "batch"}, {"namespaceLabels": {"team": "ml"}}]})
    policy = model_network_policy(plan)
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert allowed_source_namespaces(plan) == ["kserve", "ingress-nginx", "auth-apisix", "gateways", "genai-gateway",
                                               "monitoring", "batch"]
    (rule,) = spec["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    assert rule["from"][-1] == {"namespaceSelector": {"matchLabels": {"team": "ml"}}}
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "auth-apisix"}}} in rule["from"]
    dns, hub = spec["egress"]
    assert dns == {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    assert hub == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}],
                   "ports": [{"protocol": "TCP", "port": 443}]}


def test_default_policy_admits_only_the_controller_and_monitoring():
    assert allowed_source_namespaces(plan_with()) == ["kserve", "monitoring"]
    assert allowed_source_namespaces(plan_with(networkPolicy={"monitoringNamespace": None})) == ["kserve"]


@pytest.mark.parametrize("egress,expected", [
    ({"hub": "proxy", "proxy": {"cidr": "10.20.0.5/32", "port": 3128}},
     [{"to": [{"ipBlock": {"cidr": "10.20.0.5/32"}}], "ports": [{"protocol": "TCP", "port": 3128}]}]),
    ({"hub": "proxy", "proxy": {"namespace": "hf-mirror", "port": 8080}},
     [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "hf-mirror"}}}],
       "ports": [{"protocol": "TCP", "port": 8080}]}]),
    ({"hub": "none"}, []),
    ({"exceptCidrs": ["10.0.0.0/8", "fd00::/8"]},
     [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}, {"ipBlock": {"cidr": "::/0", "except": ["fd00::/8"]}}],
       "ports": [{"protocol": "TCP", "port": 443}]}]),
])
def test_hub_egress_modes(egress, expected):
    policy = model_network_policy(plan_with(networkPolicy={"egress": egress}))
    assert policy["spec"]["egress"][1:] == expected


def test_model_pods_get_a_dedicated_account_without_token():
    plan = plan_with()
    account = model_service_account(plan)
    assert account["automountServiceAccountToken"] is False and account["metadata"]["name"] == "kserve-intel-vllm"
    predictor = inference_service(plan, plan.models[0], with_token=True)["spec"]["predictor"]
    assert predictor["serviceAccountName"] == "kserve-intel-vllm" and predictor["automountServiceAccountToken"] is False


def test_mirror_endpoint_reaches_the_pods():
    plan = plan_with(hfEndpoint="https://hf-mirror.internal.example.com/")
    env = inference_service(plan, plan.models[0], with_token=True)["spec"]["predictor"]["model"]["env"]
    assert {"name": "HF_ENDPOINT", "value": "https://hf-mirror.internal.example.com"} in env
    default_env = inference_service(plan_with(), plan.models[0], with_token=True)["spec"]["predictor"]["model"]["env"]
    assert "HF_ENDPOINT" not in [e["name"] for e in default_env]


# --- schemas -----------------------------------------------------------------------------

FEATURES = {
    "all": ALL_ROUTES,
    "host-routing": {"ingress": {"enabled": True, "routing": "host", "host": "llm.example.com"},
                     "apisix": {**APISIX, "host": "*.example.com", "rateLimit": {"enabled": False}}},
    "egress-proxy": {"networkPolicy": {"egress": {"hub": "proxy", "proxy": {"namespace": "proxy", "port": 3128}},
                                       "allowFrom": [{"namespaceLabels": {"team": "ml"}}]}},
}


def traffic_objects(plan):
    objects = [model_network_policy(plan), model_service_account(plan)]
    config = plan.config
    if config.apisix.enabled:
        objects.append({**traffic.oidc_client_secret(plan), "stringData": {"client_secret": "redacted"}})
    if config.genai_gateway.enabled:
        objects.append(traffic.genai_gateway_models(plan))
    for model in plan.models:
        if config.ingress.enabled:
            objects.append(traffic.ingress(plan, model))
        if config.apisix.enabled:
            objects.append(traffic.apisix_route(plan, model))
        if config.gateway_api.enabled:
            objects.append(traffic.http_route(plan, model))
    return objects


# Traffic objects do not depend on the platform (the InferenceServices, with
# their serviceAccountName, are validated per platform in test_builders).
@pytest.mark.parametrize("platform,version,feature", list(itertools.product(PLATFORMS[:2], VERSIONS, FEATURES)))
def test_traffic_objects_validate_strictly(platform, version, feature):
    plan = secret_plan(platform, version, **FEATURES[feature])
    for obj in traffic_objects(plan):
        assert validate_object(obj, kserve_version=version) == [], (obj["kind"], validate_object(obj, kserve_version=version))


def test_schema_validation_catches_a_wrong_route_field():
    plan = secret_plan(**ALL_ROUTES)
    route = traffic.apisix_route(plan, plan.models[0])
    route["spec"]["http"][0]["backends"][0]["service"] = "x"
    assert validate_object(route)
    http = traffic.http_route(plan, plan.models[0])
    http["spec"]["rules"][0]["timeouts"]["request"] = "ten minutes"
    assert validate_object(http)
    policy = model_network_policy(plan)
    policy["spec"]["ingress"][0]["ports"][0]["port"] = "http"
    policy["spec"]["ingress"][0]["ports"][0]["protokol"] = "TCP"
    assert validate_object(policy)


# --- real request paths through each rewrite -------------------------------------------------


def apisix_upstream(route: dict, uri: str, args: str = "") -> str | None:
    """What APISIX sends upstream: radixtree prefix match on `paths`, then proxy-rewrite's
    `ngx.re.sub(uri, regex, replacement, "jo")` on the path, query string appended."""
    (rule,) = route["spec"]["http"]
    if not any(uri.startswith(p[:-1]) if p.endswith("*") else uri == p for p in rule["match"]["paths"]):
        return None
    pattern, replacement = next(p for p in rule["plugins"] if p["name"] == "proxy-rewrite")["config"]["regex_uri"]
    upstream = re.sub(pattern, re.sub(r"\$(\d)", r"\\\1", replacement), uri, count=1)
    return upstream + (f"?{args}" if args else "")


def nginx_upstream(ingress: dict, uri: str) -> str | None:
    """ingress-nginx with use-regex: `location ~* "^<path>"`, then rewrite-target."""
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]["path"]
    match = re.match("^" + path, uri, re.IGNORECASE)
    if not match:
        return None
    target = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"]
    return re.sub(r"\$(\d)", lambda m: match.group(int(m.group(1))) or "", target)


def gateway_upstream(route: dict, uri: str) -> str | None:
    """Gateway API PathPrefix (element-wise) + URLRewrite ReplacePrefixMatch."""
    (rule,) = route["spec"]["rules"]
    prefix = rule["matches"][0]["path"]["value"]
    if not (uri == prefix or uri.startswith(prefix + "/")):
        return None
    replacement = rule["filters"][0]["urlRewrite"]["path"]["replacePrefixMatch"]
    rest = uri[len(prefix):].lstrip("/")
    return replacement.rstrip("/") + "/" + rest


REQUESTS = [
    ("/{m}/v1/chat/completions", "/v1/chat/completions"),
    ("/{m}/v1/completions", "/v1/completions"),
    ("/{m}/v1/models", "/v1/models"),
    ("/{m}/v1/embeddings", "/v1/embeddings"),
    ("/{m}/health", "/health"),
    ("/{m}/metrics", "/metrics"),
]
NOT_ROUTED = ["/{m}x/v1/models", "/other/v1/models", "/v1/chat/completions", "/"]


@pytest.mark.parametrize("public,upstream", REQUESTS)
def test_public_paths_reach_the_openai_routes(public, upstream):
    plan = secret_plan(**ALL_ROUTES)
    for model in plan.models:
        uri = public.format(m=model.name)
        assert apisix_upstream(traffic.apisix_route(plan, model), uri) == upstream
        assert nginx_upstream(traffic.ingress(plan, model), uri) == upstream
        assert gateway_upstream(traffic.http_route(plan, model), uri) == upstream


@pytest.mark.parametrize("public", NOT_ROUTED)
def test_other_paths_do_not_reach_the_model(public):
    plan = secret_plan(**ALL_ROUTES)
    model = plan.models[0]
    uri = public.format(m=model.name)
    assert apisix_upstream(traffic.apisix_route(plan, model), uri) is None
    assert nginx_upstream(traffic.ingress(plan, model), uri) is None
    assert gateway_upstream(traffic.http_route(plan, model), uri) is None


def test_query_string_survives_the_apisix_rewrite():
    plan = secret_plan(**ALL_ROUTES)
    model = plan.models[0]
    assert apisix_upstream(traffic.apisix_route(plan, model), f"/{model.name}/v1/models", "limit=1") == "/v1/models?limit=1"


def test_the_replaced_charts_rewrite_would_never_match():
    # Their route matched `/v1/*` and rewrote `^/<fullname>/(.*)`: every matched path missed the regex.
    broken = {"spec": {"http": [{"match": {"paths": ["/v1/*"]}, "plugins": [
        {"name": "proxy-rewrite", "config": {"regex_uri": ["^/kserve-llama/(.*)", "/$1"]}}]}]}}
    assert apisix_upstream(broken, "/kserve-llama/v1/chat/completions") is None
    assert apisix_upstream(broken, "/v1/chat/completions") == "/v1/chat/completions"  # unrewritten, unauthenticated


# --- the program ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full():
    return run_stack("gaudi3", hfToken=TOKEN, **ALL_ROUTES)


def test_traffic_component_owns_routes_and_waits_for_models(full):
    components = {r.urn: r for r in full.registrations if r.type.startswith("kserve-intel:index:")}
    (traffic_component,) = [r for r in components.values() if r.type == "kserve-intel:index:TrafficRoutes"]
    (isolation,) = [r for r in components.values() if r.type == "kserve-intel:index:NetworkIsolation"]
    isvcs = full.of_type(ISVC)
    routes = full.of_type(APISIX_ROUTE) + full.of_type(HTTP_ROUTE) + full.of_type(INGRESS_TYPE)
    assert len(routes) == 3 * len(isvcs)
    for route in routes:
        assert route.parent == traffic_component.urn
        # Created after every model is Ready; destroyed before any model.
        assert {i.urn for i in isvcs} <= set(route.dependencies)
    (policy,) = full.of_type(POLICY)
    assert policy.parent == isolation.urn
    for isvc in isvcs:
        assert policy.urn in isvc.dependencies  # no vLLM pod runs before its isolation
    (account,) = full.of_type(SA)
    assert account.inputs["automountServiceAccountToken"] is False
    apisix_routes = full.of_type(APISIX_ROUTE)
    oidc = next(r for r in full.of_type(SECRET) if r.inputs["metadata"]["name"] == naming.OIDC_SECRET)
    for route in apisix_routes:
        assert oidc.urn in route.dependencies
    assert {r.type for r in full.of_type(CONFIG_MAP)} == {CONFIG_MAP}


def test_no_secret_in_plaintext_anywhere(full):
    secrets = {TOKEN: 0, CLIENT_SECRET: 0}
    for registration in full.registrations:
        for key, value in registration.inputs.items():
            text = json.dumps(value)
            for secret in secrets:
                if secret in text:
                    assert is_secret(value), (registration.urn, key)
                    secrets[secret] += 1
    assert secrets == {TOKEN: 1, CLIENT_SECRET: 1}  # each only in its Secret, marked secret
    oidc = next(r for r in full.of_type(SECRET) if r.inputs["metadata"]["name"] == naming.OIDC_SECRET)
    assert oidc.inputs["stringData"]["value"] == {"client_secret": CLIENT_SECRET}
    text = json.dumps(full.outputs)
    assert TOKEN not in text and CLIENT_SECRET not in text
    for warning in full.warnings:
        assert TOKEN not in warning and CLIENT_SECRET not in warning


def test_routes_output_tells_clients_where_to_go(full):
    routes = {r["name"]: r for r in full.outputs["routes"]}
    for model in full.outputs["models"]:
        entry = routes[model["name"]]
        assert entry["apisix"] == f"llm.example.com/{model['name']}/v1"
        assert entry["ingress"] == f"https://llm.example.com/{model['name']}/v1"
        assert entry["gatewayApi"] == f"/{model['name']}/v1"


def test_defaults_create_policy_and_account_but_no_routes(committed):
    for evaluation in committed.values():
        assert len(evaluation.of_type(POLICY)) == 1 and len(evaluation.of_type(SA)) == 1
        assert not (evaluation.of_type(APISIX_ROUTE) or evaluation.of_type(HTTP_ROUTE) or evaluation.of_type(INGRESS_TYPE))
        assert all(set(r) == {"name"} for r in evaluation.outputs["routes"])


def test_network_policy_can_be_turned_off():
    evaluation = run_stack("xeon", networkPolicy={"enabled": False})
    assert evaluation.of_type(POLICY) == []


def test_kserve_managed_routes_through_the_program():
    evaluation = run_stack("gaudi3", hfToken=TOKEN, gatewayApi={**GATEWAY, "routes": "kserve"})
    assert evaluation.of_type(HTTP_ROUTE) == []
    controller = next(r for r in evaluation.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["name"] == "kserve-resources")
    assert controller.inputs["values"]["kserve"]["controller"]["gateway"]["ingressGateway"]["enableGatewayApi"] is True
    for route in evaluation.outputs["routes"]:
        assert route["gatewayApi"] == f"http://{route['name']}-intel-inference.example.com/v1"


@pytest.mark.parametrize("networking,gateway_ns", [("kourier", "kourier-system"), ("istio", "istio-system")])
def test_serverless_policy_admits_knative_to_the_queue_proxy(networking, gateway_ns):
    plan = plan_with(kserve={"deploymentMode": "Serverless", "networking": networking})
    policy = model_network_policy(plan)
    vllm, queue_proxy = policy["spec"]["ingress"]
    assert vllm["ports"] == [{"protocol": "TCP", "port": 8080}]
    sources = [peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in queue_proxy["from"]]
    assert sources[:2] == ["knative-serving", gateway_ns]
    assert {p["port"] for p in queue_proxy["ports"]} == {8012, 8013, 8022, 9090, 9091}
    assert validate_object(policy) == []


def test_raw_policy_has_no_queue_proxy_rule():
    assert len(model_network_policy(plan_with())["spec"]["ingress"]) == 1


def test_multinode_ray_pods_may_talk_to_each_other_only():
    plan = make_plan("gaudi", "v0.15.2", models=["meta-llama/Llama-3.1-405B-Instruct"],
                     storage={"accessMode": "ReadWriteMany"})
    assert plan.models[0].multinode
    spec = model_network_policy(plan)["spec"]
    pods = {"podSelector": {"matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]}}
    assert {"from": [pods]} in spec["ingress"]
    assert {"to": [pods]} in spec["egress"]
    assert validate_object(model_network_policy(plan)) == []


# --- Serverless and canary: what each route sends where ------------------------------------

CANARY_MODEL = [{"id": "Qwen/Qwen3-4B-Instruct-2507", "canary": {"trafficPercent": 30, "name": "next",
                                                                  "extraArgs": ["--max-num-seqs", "64"]}}]


@pytest.mark.parametrize("routing", ["path", "host"])
@pytest.mark.parametrize("mode", ["Standard", "Knative"])
def test_routes_per_mode_and_canary_validate_and_point_at_the_right_services(routing, mode):
    ingress_cfg = {**INGRESS, "routing": routing}
    routes = {"ingress": ingress_cfg, "apisix": APISIX}
    if mode == "Standard":
        routes["gatewayApi"] = GATEWAY
    models = CANARY_MODEL
    if mode == "Knative":  # Knative names the revisions: no canary name there
        models = [{**CANARY_MODEL[0], "canary": {k: v for k, v in CANARY_MODEL[0]["canary"].items() if k != "name"}}]
    plan = secret_plan("xeon", "v0.20.0", kserve={"version": "v0.20.0", "deploymentMode": mode},
                       models=models, **routes)
    (model,) = plan.models
    objects = [traffic.ingress(plan, model), traffic.apisix_route(plan, model)]
    canary = traffic.canary_ingress(plan, model)
    vhost = "qwen3-4b-instruct-2507-predictor.intel-inference.svc.cluster.local"
    annotations = objects[0]["metadata"]["annotations"]
    rewrite = objects[1]["spec"]["http"][0]["plugins"][-1]["config"]
    backends = objects[1]["spec"]["http"][0]["backends"]
    if mode == "Knative":
        assert annotations[traffic.NGINX + "upstream-vhost"] == vhost and rewrite["host"] == vhost
        assert canary is None and len(backends) == 1 and "weight" not in backends[0]
    else:
        assert traffic.NGINX + "upstream-vhost" not in annotations and "host" not in rewrite
        assert canary["metadata"]["name"] == "qwen3-4b-instruct-2507-route-canary"
        assert canary["metadata"]["annotations"][traffic.NGINX + "canary-weight"] == "30"
        assert canary["spec"]["rules"][0]["host"] == objects[0]["spec"]["rules"][0]["host"]
        assert canary["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == \
            "qwen3-4b-instruct-2507-next-predictor"
        assert [b["weight"] for b in backends] == [70, 30]
        route = traffic.http_route(plan, model)
        assert [(b["name"], b["weight"]) for b in route["spec"]["rules"][0]["backendRefs"]] == [
            ("qwen3-4b-instruct-2507-predictor", 70), ("qwen3-4b-instruct-2507-next-predictor", 30)]
        objects += [canary, route]
    for obj in objects:
        assert validate_object(obj, kserve_version="v0.20.0") == [], obj["kind"]


def test_canary_at_zero_or_full_keeps_both_backends_weighted():
    for percent, weights in ((0, [100, 0]), (100, [0, 100])):
        models = [{**CANARY_MODEL[0], "canary": {**CANARY_MODEL[0]["canary"], "trafficPercent": percent}}]
        plan = secret_plan("xeon", "v0.20.0", models=models, apisix=APISIX, gatewayApi=GATEWAY, ingress=INGRESS)
        (model,) = plan.models
        assert [b["weight"] for b in traffic.apisix_route(plan, model)["spec"]["http"][0]["backends"]] == weights
        assert [b["weight"] for b in traffic.http_route(plan, model)["spec"]["rules"][0]["backendRefs"]] == weights
        assert traffic.canary_ingress(plan, model)["metadata"]["annotations"][traffic.NGINX + "canary-weight"] == str(percent)
