"""The traffic path: ingress, APISIX, Gateway API, the GenAI gateway and the network policy."""

from __future__ import annotations

from typing import Iterable

from ..catalog.kserve import release
from ..config.stack import StackConfig
from ..errors import ConfigIssue
from .no_effect import unused_keys


def _gateway_api_serverless(routes: str) -> Iterable[ConfigIssue]:
    """Gateway API cannot reach a Serverless predictor reliably, whoever writes the routes.

    In Serverless mode `<model>-predictor` is the ExternalName Service Knative points at its
    networking layer's internal gateway, which routes by Host. The Gateway API spec says
    implementations SHOULD NOT support ExternalName backends (CVE-2021-25740), and KServe
    creates HTTPRoutes only in RawDeployment/Standard mode (Knative mode uses its own ingress).
    """
    if routes == "stack":
        reason = ("our HTTPRoutes would point at the ExternalName Service Knative creates for <model>-predictor, "
                  "and Gateway API implementations need not (and SHOULD NOT) follow ExternalName backends")
    else:
        reason = "KServe creates HTTPRoutes only in RawDeployment/Standard mode; in Serverless mode Knative routes"
    yield ConfigIssue(
        "gatewayApi.enabled", f"cannot be combined with kserve.deploymentMode Serverless (gatewayApi.routes "
        f"{routes!r}): {reason}. Use kserve.deploymentMode RawDeployment/Standard, or ingress/apisix (they set "
        "the Host Knative routes by), or Knative's own URL (models[].externalUrl)", True,
    )


def traffic_checks(config: StackConfig, secret_keys: set[str]) -> Iterable[ConfigIssue]:
    """Ingress, APISIX, Gateway API, GenAI gateway, network policy and token validation."""
    ingress = config.ingress
    if not ingress.enabled:
        yield from unused_keys(ingress, "ingress", "unless ingress.enabled is true")
    elif ingress.routing == "host" and (not ingress.host or ingress.host.startswith("*.")):
        yield ConfigIssue(
            "ingress.host", "routing 'host' serves each model at <model>.<host>, so host must be a domain "
            "such as llm.example.com (no wildcard)", ingress.host,
        )

    apisix = config.apisix
    if not apisix.enabled:
        yield from unused_keys(apisix, "apisix", "unless apisix.enabled is true")
    else:
        if apisix.auth is None:
            yield ConfigIssue(
                "apisix.auth.keycloak", "is required: model routes are never exposed without authentication; "
                "set discoveryUrl, clientId and clientSecret (secret)",
            )
        elif "apisix" not in secret_keys:
            yield ConfigIssue(
                "apisix.auth.keycloak.clientSecret", "must be stored encrypted: run `pulumi config set --secret "
                "--path 'kserve-intel:apisix.auth.keycloak.clientSecret' <secret>`",
            )
        if not apisix.rate_limit.enabled:
            yield from unused_keys(apisix.rate_limit, "apisix.rateLimit", "unless apisix.rateLimit.enabled is true")

    gateway = config.gateway_api
    if not gateway.enabled:
        yield from unused_keys(gateway, "gatewayApi", "unless gatewayApi.enabled is true")
    else:
        if gateway.gateway is None:
            yield ConfigIssue("gatewayApi.gateway", "is required: {name, namespace} of the Gateway the routes attach to")
        if config.kserve.serverless:
            yield from _gateway_api_serverless(gateway.routes)
        elif gateway.routes == "kserve":
            if not config.kserve.install:
                yield ConfigIssue(
                    "gatewayApi.routes", "'kserve' configures the KServe controller this stack installs, but "
                    "kserve.install is false; use 'stack' (and make sure the existing KServe has enableGatewayApi off)",
                    gateway.routes,
                )
            elif not release(config.kserve.version).kserve_gateway_api:
                yield ConfigIssue(
                    "gatewayApi.routes", f"'kserve' needs KServe v0.15.0 or later (kserve.version is "
                    f"{config.kserve.version}); use 'stack'", gateway.routes,
                )
            if gateway.explicitly_set("host"):
                yield ConfigIssue(
                    "gatewayApi.host", "has no effect with routes 'kserve': KServe names hosts "
                    "<model>-<namespace>.<kserve.ingressDomain>; remove it", gateway.host,
                )

    genai = config.genai_gateway
    if not genai.enabled:
        yield from unused_keys(genai, "genaiGateway", "unless genaiGateway.enabled is true")

    policy = config.network_policy
    if not policy.enabled:
        yield from unused_keys(policy, "networkPolicy", "when networkPolicy.enabled is false")
    else:
        for index, peer in enumerate(policy.allow_from):
            if (peer.namespace is None) == (peer.namespace_labels is None):
                yield ConfigIssue(
                    f"networkPolicy.allowFrom[{index}]", "needs exactly one of namespace or namespaceLabels",
                    peer.model_dump(by_alias=True, exclude_none=True),
                )
        egress = policy.egress
        if egress.hub != "direct" and egress.explicitly_set("except_cidrs"):
            yield ConfigIssue(
                "networkPolicy.egress.exceptCidrs", "has no effect unless networkPolicy.egress.hub is 'direct'; "
                "remove it", egress.except_cidrs,
            )
        if egress.hub == "proxy":
            proxy = egress.proxy
            if proxy is None:
                yield ConfigIssue(
                    "networkPolicy.egress.proxy", "is required when hub is 'proxy': {cidr or namespace, port}",
                )
            elif (proxy.cidr is None) == (proxy.namespace is None):
                yield ConfigIssue(
                    "networkPolicy.egress.proxy", "needs exactly one of cidr or namespace (and port)",
                    proxy.model_dump(by_alias=True, exclude_none=True),
                )
        elif egress.proxy is not None:
            yield ConfigIssue(
                "networkPolicy.egress.proxy", "has no effect unless networkPolicy.egress.hub is 'proxy'; remove it",
                egress.proxy.model_dump(by_alias=True, exclude_none=True),
            )
