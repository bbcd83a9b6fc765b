"""The traffic path: ingress, APISIX, Gateway API, the GenAI gateway and the network policy."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

from ..catalog.kserve import release
from ..config.stack import DEFAULT_HF_ENDPOINT, StackConfig
from ..errors import ConfigIssue
from .no_effect import unused_keys

HTTPS_PORT = 443
# `<service>.<namespace>.svc[.<cluster domain>]`: a Service, opened as its namespace's pods on the port given.
_IN_CLUSTER = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\..+)?$")
# One label (`minio`): a Service of the pod's own namespace, found through the resolver's search path.
_SAME_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Endpoint:
    """A destination the model pods (vLLM, KServe's storage initializer) connect to, as the stack configures it."""

    key: str  # the config key that names it
    value: str  # as configured, echoed in messages
    what: str  # what it is, for messages
    host: str | None  # None: its address is not in the stack's config (HDFS: KServe's own secret)
    port: int | None
    hub: bool = False  # the hub mirror: not opened with networkPolicy.egress.hub none

    @property
    def address(self) -> str | None:
        """The host as an ipBlock CIDR (`/32`, `/128`) when it is an IP address."""
        try:
            ip = ipaddress.ip_address((self.host or "").strip("[]"))
        except ValueError:
            return None
        return f"{ip}/{ip.max_prefixlen}"

    def namespace(self, model_namespace: str) -> str | None:
        """The namespace of an in-cluster Service name, else None."""
        host = (self.host or "").lower()
        match = _IN_CLUSTER.match(host)
        if match:
            return match.group("namespace")
        return model_namespace if self.host and _SAME_NAMESPACE.match(host) else None

    def opened_by_address(self, model_namespace: str) -> bool:
        """Whether the policy can open this endpoint by its own address (an IP or an in-cluster Service)."""
        return self.port is not None and (self.address is not None or self.namespace(model_namespace) is not None)

    @property
    def shown(self) -> str:
        return f"{self.host}:{self.port}" if self.host else self.value


def _url_endpoint(key: str, url: str, what: str, hub: bool = False) -> Endpoint:
    parts = urlsplit(url)
    port = parts.port or (HTTPS_PORT if parts.scheme == "https" else 80)
    return Endpoint(key, url, what, parts.hostname, port, hub)


def hub_mirror(config: StackConfig) -> Endpoint | None:
    """The `hfEndpoint` mirror (None for the public hub, which `networkPolicy.egress.hub` covers)."""
    if config.hf_endpoint == DEFAULT_HF_ENDPOINT:
        return None
    return _url_endpoint("hfEndpoint", config.hf_endpoint, "the hub mirror vLLM and KServe's downloads use", hub=True)


def store_endpoint(config: StackConfig, key: str, uri: str) -> Endpoint | None:
    """Where KServe's storage initializer fetches `uri` (a registry source) from, in the predictor pod."""
    parts = urlsplit(uri)
    if parts.scheme == "s3":
        s3 = config.registry.s3
        if s3 is not None and s3.endpoint:
            host, _, port = s3.endpoint.rpartition(":") if ":" in s3.endpoint else (s3.endpoint, "", "")
            default = HTTPS_PORT if s3.use_https else 80
            return Endpoint("registry.s3.endpoint", s3.endpoint, "the S3 store KServe's storage initializer reads",
                            host, int(port) if port else default)
        return Endpoint(key, uri, f"AWS S3 (no registry.s3.endpoint), where {uri} is read from",
                        "s3.amazonaws.com", HTTPS_PORT)
    if parts.scheme == "gs":
        return Endpoint(key, uri, f"Google Cloud Storage, where {uri} is read from", "storage.googleapis.com", HTTPS_PORT)
    if parts.scheme == "https":
        return Endpoint(key, uri, f"Azure Blob Storage, where {uri} is read from", parts.hostname, HTTPS_PORT)
    if parts.scheme in ("hdfs", "webhdfs"):
        return Endpoint(key, uri, f"HDFS, where {uri} is read from (the namenode's address is in KServe's HDFS "
                        "secret, not in this stack)", None, None)
    return None


def egress_endpoints(config: StackConfig, sources: Iterable[tuple[str, str]]) -> list[Endpoint]:
    """Every endpoint the model pods connect to, once each: the hub mirror and the stores of `(key, uri)` sources."""
    found = [hub_mirror(config), *(store_endpoint(config, key, uri) for key, uri in sources)]
    unique: dict[tuple, Endpoint] = {}
    for endpoint in found:
        if endpoint is not None:
            unique.setdefault((endpoint.host, endpoint.port) if endpoint.host else (endpoint.key,), endpoint)
    return list(unique.values())


def reached_endpoints(config: StackConfig, sources: Iterable[tuple[str, str]]) -> list[Endpoint]:
    """The endpoints the network policy must open (the mirror not with `egress.hub: none`: no hub access)."""
    none = config.network_policy.egress.hub == "none"
    return [e for e in egress_endpoints(config, sources) if not (e.hub and none)]


def egress_issues(config: StackConfig, sources: Iterable[tuple[str, str]]) -> list[ConfigIssue]:
    """An endpoint the pods must reach that the network policy cannot open is refused, naming its key.

    The policy opens an IP address or an in-cluster Service name on its own port. A DNS name outside the
    cluster has no address a NetworkPolicy can take: it is reached only through the hub rule (`direct`:
    443 outside exceptCidrs; `proxy`: the proxy's port) or an `allowTo` entry on its port.
    """
    policy = config.network_policy
    if not policy.enabled:
        return []
    egress = policy.egress
    issues = []
    for endpoint in reached_endpoints(config, sources):
        if endpoint.opened_by_address(config.namespace):
            continue
        if endpoint.host is None:
            if egress.allow_to:
                continue
            issues.append(ConfigIssue(endpoint.key, f"is {endpoint.what}, which the model pods' network policy does "
                                      "not open; allowed: its address in networkPolicy.egress.allowTo "
                                      "[{cidr or namespace, port}], or networkPolicy.enabled false", endpoint.value))
            continue
        port = endpoint.port
        if (egress.hub == "direct" and port == HTTPS_PORT) or any(p.port == port for p in egress.allow_to):
            continue
        if endpoint.hub and egress.hub == "proxy" and egress.proxy is not None and egress.proxy.port == port:
            continue  # the mirror is the proxy's destination (or reached through it)
        opened = {"direct": f"networkPolicy.egress.hub 'direct' opens only port {HTTPS_PORT} outside exceptCidrs",
                  "proxy": "networkPolicy.egress.hub 'proxy' opens only the proxy"
                           + (f" (port {egress.proxy.port})" if egress.proxy else ""),
                  "none": "networkPolicy.egress.hub 'none' opens no hub"}[egress.hub]
        issues.append(ConfigIssue(
            endpoint.key, f"is {endpoint.what}, reached on {endpoint.shown}, but the model pods' network policy does "
            f"not open it: {opened}, and a NetworkPolicy cannot name a DNS host. Allowed: an IP address or an "
            f"in-cluster Service name (<service>.<namespace>.svc), each opened on its own port; or "
            f"networkPolicy.egress.allowTo [{{cidr: <its address range>, port: {port}}}]; or networkPolicy.enabled "
            "false", endpoint.value,
        ))
    return issues


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
        for index, peer in enumerate(egress.allow_to):
            if (peer.cidr is None) == (peer.namespace is None):
                yield ConfigIssue(
                    f"networkPolicy.egress.allowTo[{index}]", "needs exactly one of cidr or namespace (and port)",
                    peer.model_dump(by_alias=True, exclude_none=True),
                )
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
