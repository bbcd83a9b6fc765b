"""How clients reach the models: Ingress, APISIX routes (Keycloak + rate limit),
Gateway API HTTPRoutes, and the model list for a LiteLLM-based GenAI gateway.

Every public route maps `/<model-name>/<rest>` onto `/<rest>` of the model's
predictor Service (`<name>-predictor`, port 80 -> vLLM on 8080), so
`/<model-name>/v1/chat/completions` reaches vLLM's `/v1/chat/completions`.
In `ingress.routing: host` mode the model has a host of its own instead.

Serverless: `<name>-predictor` is the ExternalName Service Knative points at its
networking layer's internal gateway (Kourier, Istio's knative-local-gateway),
which routes by Host, so the routes send `Host: <name>-predictor.<ns>.svc.cluster.local`
(ingress-nginx `upstream-vhost`, APISIX `proxy-rewrite.host`); Knative splits a
canary behind that one host. Gateway API is refused in Serverless (rules/traffic.py).

Servers whose OpenAI API is not under `/v1` (a custom runtime declaring
e.g. `/v3` as its stack's `openai_path`): clients keep the one convention,
`/<model-name>/v1/...`, and an extra route rewrites that prefix to the
server's base path (`/<model>/v1/chat/completions` -> `/v3/chat/completions`);
every other path still maps as above. Ingress: a second Ingress
`<name>-route-openai` (ingress-nginx orders regex locations longest first);
APISIX: a second rule `openai-base` (radixtree: the longest prefix wins);
HTTPRoute: a second rule (Gateway API: the longest prefix wins). Models under
`/v1` (vLLM, TGI, OVMS 2026.3) get exactly one route each, as before.

Standard mode with a canary (KServe v0.20 `spec.canary[]`): the routes split
by `trafficPercent` between the stable Service and the canary's
`<name>-<canary>-predictor` (an ingress-nginx canary Ingress, APISIX weighted
backends, HTTPRoute backendRef weights).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from .. import naming
from ..plan import ModelPlan, StackPlan

SERVICE_PORT = 80
# The OpenAI base path clients use through every public route, whatever the server's own (ModelPlan.openai_path).
PUBLIC_OPENAI_PATH = "/v1"
# Generation can stream for minutes; proxies must not cut it at their defaults (60 s).
ROUTE_TIMEOUT_SECONDS = 600
NGINX = "nginx.ingress.kubernetes.io/"


def public_prefix(model: ModelPlan) -> str:
    return f"/{model.name}"


def rewrites_openai_path(model: ModelPlan) -> bool:
    """The server's OpenAI API is not under the public /v1: routes rewrite that prefix to its own."""
    return server_base(model) != PUBLIC_OPENAI_PATH


def server_base(model: ModelPlan) -> str:
    """The server's OpenAI base path without a trailing slash ("" for an API at the root)."""
    return model.openai_path.rstrip("/")


def _backend_service(model: ModelPlan) -> str:
    return naming.predictor_service(model.name)


def upstream_host(plan: StackPlan, model: ModelPlan) -> str | None:
    """The Host the upstream must receive: Knative's gateway routes by it in Serverless mode."""
    return naming.predictor_host(model.name, model.namespace) if plan.config.kserve.serverless else None


def canary_split(plan: StackPlan, model: ModelPlan) -> tuple[str, int] | None:
    """(canary Service, percent) when our routes must split traffic themselves (Standard mode canary)."""
    canary = model.canary
    if canary is None or plan.config.kserve.serverless:
        return None  # Serverless: Knative splits behind the one predictor host
    return naming.canary_predictor_service(model.name, canary.name), canary.traffic_percent


def _meta(name: str, namespace: str, instance: str, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": naming.labels(instance, component)}


# --- Ingress -----------------------------------------------------------------


def ingress_host(plan: StackPlan, model: ModelPlan) -> str | None:
    cfg = plan.config.ingress
    if cfg.routing == "host":
        return f"{model.name}.{cfg.host}"
    return cfg.host or None


def ingress(plan: StackPlan, model: ModelPlan, openai: bool = False) -> dict[str, Any]:
    """The model's Ingress; `openai`: the one for `<prefix>/v1` onto a server's other base path."""
    cfg = plan.config.ingress
    backend = {"service": {"name": _backend_service(model), "port": {"number": SERVICE_PORT}}}
    annotations = {
        # Server-sent events: pass tokens through as vLLM emits them.
        NGINX + "proxy-buffering": "off",
        NGINX + "proxy-read-timeout": str(ROUTE_TIMEOUT_SECONDS),
        NGINX + "proxy-send-timeout": str(ROUTE_TIMEOUT_SECONDS),
        NGINX + "proxy-body-size": "16m",
    }
    if openai:
        # location ~* "^[/<model>]/v1(/|$)(.*)", upstream path "<openai_path>/$2"; longer than the main
        # Ingress's path, so ingress-nginx writes it first and it wins for /v1.
        prefix = public_prefix(model) if cfg.routing == "path" else ""
        path = {"path": f"{prefix}{PUBLIC_OPENAI_PATH}(/|$)(.*)", "pathType": "ImplementationSpecific", "backend": backend}
        annotations[NGINX + "use-regex"] = "true"
        annotations[NGINX + "rewrite-target"] = f"{server_base(model)}/$2"
    elif cfg.routing == "path":
        # ingress-nginx: location ~* "^/<model>(/|$)(.*)", upstream path "/$2".
        path = {"path": f"{public_prefix(model)}(/|$)(.*)", "pathType": "ImplementationSpecific", "backend": backend}
        annotations[NGINX + "use-regex"] = "true"
        annotations[NGINX + "rewrite-target"] = "/$2"
    else:
        path = {"path": "/", "pathType": "Prefix", "backend": backend}
    vhost = upstream_host(plan, model)
    if vhost:
        # The backend is Knative's ExternalName Service: its gateway routes by Host.
        annotations[NGINX + "upstream-vhost"] = vhost
    annotations.update(cfg.annotations)  # the user's annotations win
    host = ingress_host(plan, model)
    rule: dict[str, Any] = {"http": {"paths": [path]}}
    if host:
        rule["host"] = host
    spec: dict[str, Any] = {"ingressClassName": cfg.class_name, "rules": [rule]}
    if cfg.tls.secret_name:
        tls: dict[str, Any] = {"secretName": cfg.tls.secret_name}
        if host:
            tls["hosts"] = [host]
        spec["tls"] = [tls]
    name = naming.route_name(model.name) + ("-openai" if openai else "")
    meta = _meta(name, model.namespace, model.name, "ingress")
    meta["annotations"] = annotations
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def canary_ingress(plan: StackPlan, model: ModelPlan, openai: bool = False) -> dict[str, Any] | None:
    """ingress-nginx canary Ingress: same host and path, `trafficPercent` to the canary Service.

    ingress-nginx takes every other setting (rewrite, timeouts) from the main
    Ingress of that host and path; only the canary annotations count here.
    """
    split = canary_split(plan, model)
    if split is None:
        return None
    service, percent = split
    main = ingress(plan, model, openai)
    spec = copy.deepcopy(main["spec"])
    spec.pop("tls", None)  # the main Ingress terminates TLS for the host
    for rule in spec["rules"]:
        for path in rule["http"]["paths"]:
            path["backend"] = {"service": {"name": service, "port": {"number": SERVICE_PORT}}}
    name = naming.canary_route_name(model.name) + ("-openai" if openai else "")
    meta = _meta(name, model.namespace, model.name, "ingress-canary")
    meta["annotations"] = {
        **{k: v for k, v in main["metadata"]["annotations"].items() if k in (NGINX + "use-regex", NGINX + "rewrite-target")},
        NGINX + "canary": "true",
        NGINX + "canary-weight": str(percent),
    }
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def ingresses(plan: StackPlan, model: ModelPlan) -> list[dict[str, Any]]:
    """Every Ingress of the model: main, its canary, and both again for another OpenAI base path."""
    result = []
    for openai in ((False, True) if rewrites_openai_path(model) else (False,)):
        result.append(ingress(plan, model, openai))
        canary = canary_ingress(plan, model, openai)
        if canary is not None:
            result.append(canary)
    return result


# --- APISIX ------------------------------------------------------------------


def oidc_client_secret(plan: StackPlan) -> dict[str, Any]:
    """The Secret the openid-connect plugin reads `client_secret` from (data added by the component)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(naming.OIDC_SECRET, plan.config.namespace, naming.OIDC_SECRET, "credentials"),
        "type": "Opaque",
    }


def apisix_rewrite(model: ModelPlan, openai: bool = False) -> list[str]:
    """proxy-rewrite `regex_uri`: `/<model>/v1/chat/completions` -> `/v1/chat/completions`
    (`openai`: `/<model>/v1/...` -> `<openai_path>/...`)."""
    if openai:
        return [f"^{public_prefix(model)}{PUBLIC_OPENAI_PATH}/(.*)", f"{server_base(model)}/$1"]
    return [f"^{public_prefix(model)}/(.*)", "/$1"]


def _apisix_proxy_rewrite(plan: StackPlan, model: ModelPlan, openai: bool = False) -> dict[str, Any]:
    config: dict[str, Any] = {"regex_uri": apisix_rewrite(model, openai)}
    vhost = upstream_host(plan, model)
    if vhost:
        # The 2.x controller turns the ExternalName Service into an upstream node at Knative's
        # gateway; the gateway routes by Host.
        config["host"] = vhost
    return config


def _apisix_backends(plan: StackPlan, model: ModelPlan) -> list[dict[str, Any]]:
    stable = {"serviceName": _backend_service(model), "servicePort": SERVICE_PORT}
    split = canary_split(plan, model)
    if split is None:
        return [stable]
    service, percent = split
    # More than one backend: the controller configures APISIX's traffic-split by these weights.
    return [{**stable, "weight": 100 - percent}, {"serviceName": service, "servicePort": SERVICE_PORT, "weight": percent}]


def apisix_route(plan: StackPlan, model: ModelPlan) -> dict[str, Any]:
    cfg = plan.config.apisix
    assert cfg.auth is not None  # config refuses an unauthenticated route
    keycloak = cfg.auth.keycloak
    oidc: dict[str, Any] = {
        "client_id": keycloak.client_id,
        "discovery": keycloak.discovery_url,
        "bearer_only": cfg.auth.bearer_only,
        "realm": keycloak.realm,
        "scope": "openid",
    }
    if keycloak.token_validation == "jwks":
        oidc["use_jwks"] = True

    def rule(name: str, paths: list[str], openai: bool) -> dict[str, Any]:
        plugins: list[dict[str, Any]] = [
            # client_secret is merged in by the ingress controller from the Secret (secretRef).
            {"name": "openid-connect", "enable": True, "config": copy.deepcopy(oidc), "secretRef": naming.OIDC_SECRET},
            {"name": "proxy-rewrite", "enable": True, "config": _apisix_proxy_rewrite(plan, model, openai)},
        ]
        limit = cfg.rate_limit
        if limit.enabled:
            plugins.insert(1, {"name": "limit-req", "enable": True, "config": {
                "rate": round(limit.requests_per_minute / 60, 6),
                "burst": limit.burst,
                "nodelay": True,
                "key_type": "var",
                "key": limit.key,
                "rejected_code": 429,
            }})
        match: dict[str, Any] = {"paths": paths}
        if cfg.host:
            match["hosts"] = [cfg.host]
        timeout = f"{ROUTE_TIMEOUT_SECONDS}s"
        return {
            "name": name,
            "match": match,
            "backends": _apisix_backends(plan, model),
            "timeout": {"connect": "10s", "read": timeout, "send": timeout},
            "plugins": plugins,
        }

    rules = [rule("openai", [f"{public_prefix(model)}/*"], False)]
    if rewrites_openai_path(model):
        # The longer prefix wins in APISIX's radixtree router.
        rules.insert(0, rule("openai-base", [f"{public_prefix(model)}{PUBLIC_OPENAI_PATH}/*"], True))
    return {
        "apiVersion": "apisix.apache.org/v2",
        "kind": "ApisixRoute",
        "metadata": _meta(naming.route_name(model.name), model.namespace, model.name, "apisix-route"),
        "spec": {"ingressClassName": cfg.ingress_class_name, "http": rules},
    }


# --- Gateway API ---------------------------------------------------------------


def _http_route_backends(plan: StackPlan, model: ModelPlan) -> list[dict[str, Any]]:
    stable = {"group": "", "kind": "Service", "name": _backend_service(model), "port": SERVICE_PORT}
    split = canary_split(plan, model)
    if split is None:
        return [stable]
    service, percent = split
    return [{**stable, "weight": 100 - percent},
            {"group": "", "kind": "Service", "name": service, "port": SERVICE_PORT, "weight": percent}]


def http_route(plan: StackPlan, model: ModelPlan) -> dict[str, Any]:
    cfg = plan.config.gateway_api
    assert cfg.gateway is not None and cfg.routes == "stack" and not plan.config.kserve.serverless
    parent: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": cfg.gateway.name,
        "namespace": cfg.gateway.namespace,
    }
    if cfg.gateway.section_name:
        parent["sectionName"] = cfg.gateway.section_name
    spec: dict[str, Any] = {"parentRefs": [parent]}
    if cfg.host:
        spec["hostnames"] = [cfg.host]
    def rule(prefix: str, replacement: str) -> dict[str, Any]:
        return {
            "matches": [{"path": {"type": "PathPrefix", "value": prefix}}],
            "filters": [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": replacement}}}],
            "backendRefs": _http_route_backends(plan, model),
            "timeouts": {"request": f"{ROUTE_TIMEOUT_SECONDS // 60}m"},
        }

    spec["rules"] = [rule(public_prefix(model), "/")]
    if rewrites_openai_path(model):
        # The longest PathPrefix wins (Gateway API match precedence).
        spec["rules"].insert(0, rule(public_prefix(model) + PUBLIC_OPENAI_PATH, server_base(model) or "/"))
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(naming.route_name(model.name), model.namespace, model.name, "http-route"),
        "spec": spec,
    }


def kserve_gateway_values(plan: StackPlan) -> dict[str, Any]:
    """Controller chart values that make KServe create the HTTPRoutes itself (routes: kserve)."""
    cfg = plan.config.gateway_api
    if not (cfg.enabled and cfg.routes == "kserve"):
        return {}
    assert cfg.gateway is not None
    return {"enableGatewayApi": True, "kserveGateway": f"{cfg.gateway.namespace}/{cfg.gateway.name}"}


# --- GenAI gateway (LiteLLM) ---------------------------------------------------


def litellm_model_list(plan: StackPlan) -> list[dict[str, Any]]:
    """One entry per served name: each model, then its LoRA adapters (same vLLM, same api_base)."""
    entries = []
    for model in plan.models:
        served = [(model.served_model_name, f"{model.namespace}/{model.name}")]
        if model.lora is not None:
            served += [(a.name, f"{model.namespace}/{model.name}/{a.name}") for a in model.lora.adapters]
        for name, ident in served:
            entries.append({
                "model_name": name,
                "litellm_params": {
                    # LiteLLM's keyless provider for OpenAI-compatible servers (vLLM, TGI, OVMS and custom
                    # runtimes speak the same chat/completions API); the server picks an adapter by `model`.
                    # api_base: the server's own OpenAI base path (ModelPlan.openai_path).
                    "model": f"hosted_vllm/{name}",
                    "api_base": model.openai_base_url,
                },
                "model_info": {"id": ident},
            })
    return entries


def genai_gateway_models(plan: StackPlan) -> dict[str, Any]:
    """A ConfigMap in the gateway's namespace: a LiteLLM `config.yaml` with `model_list`.

    No credentials: vLLM has no API key, the gateway reaches the predictors in-cluster.
    """
    cfg = plan.config.genai_gateway
    text = yaml.safe_dump({"model_list": litellm_model_list(plan)}, sort_keys=False, width=1000)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(cfg.config_map_name, cfg.namespace, cfg.config_map_name, "genai-gateway-models"),
        "data": {"config.yaml": text},
    }


# --- what the user is told ------------------------------------------------------


def public_endpoints(plan: StackPlan, model: ModelPlan) -> dict[str, str]:
    """Where each enabled route serves the model's OpenAI base, host first.

    Our routes serve every model at `.../v1` (rewritten to the server's own base
    path); KServe's own HTTPRoutes (gatewayApi.routes: kserve) do not rewrite,
    so there the server's own base path shows.
    """
    config = plan.config
    result: dict[str, str] = {}
    if config.ingress.enabled:
        host = ingress_host(plan, model)
        scheme = "https" if config.ingress.tls.secret_name else "http"
        path = PUBLIC_OPENAI_PATH if config.ingress.routing == "host" else f"{public_prefix(model)}{PUBLIC_OPENAI_PATH}"
        result["ingress"] = f"{scheme}://{host}{path}" if host else path
    if config.apisix.enabled:
        path = f"{public_prefix(model)}{PUBLIC_OPENAI_PATH}"
        result["apisix"] = f"{config.apisix.host}{path}" if config.apisix.host else path
    gateway = config.gateway_api
    if gateway.enabled:
        if gateway.routes == "kserve":
            result["gatewayApi"] = plan.external_url(model) + server_base(model)
        else:
            path = f"{public_prefix(model)}{PUBLIC_OPENAI_PATH}"
            result["gatewayApi"] = f"{gateway.host}{path}" if gateway.host else path
    return result
