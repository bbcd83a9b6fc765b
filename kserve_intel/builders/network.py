"""Network isolation of the vLLM pods: one NetworkPolicy for the model namespace.

Ingress: only from the namespaces that route or observe traffic (the KServe
controller, the enabled ingress/APISIX/Gateway/GenAI gateway namespaces,
monitoring, and `networkPolicy.allowFrom`), only to vLLM's port 8080.
Egress: DNS; HTTPS to the Hugging Face hub (direct, through a proxy or mirror,
or not at all); each endpoint the stack configures (an `hfEndpoint` mirror, the
registry's S3 store, ...) on its own address and port (rules/traffic.py decides
which, and refuses one it cannot open); and `egress.allowTo`. The pods have no
API token and never call the Kubernetes API, so no egress to it is opened; the
MLflow tracking server and chart mirrors are reached by the program, never by a pod.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from .. import naming
from ..catalog.platforms import SERVING_PORT
from ..plan import StackPlan, fetched_sources
from ..rules.traffic import reached_endpoints

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace
HTTPS_PORT = 443
# Knative's queue-proxy sidecar: user traffic (http1, h2c), health, autoscaler
# and user metrics. In Serverless mode requests reach it, not vLLM's port.
QUEUE_PROXY_PORTS = (8012, 8013, 8022, 9090, 9091)
KNATIVE_NAMESPACE = "knative-serving"  # activator and autoscaler; the operator's Kourier gateway too
# Namespaces of the networking layer's gateways.
NETWORKING_NAMESPACES = {"kourier": ("kourier-system",), "istio": ("istio-system",)}
PREDICTOR_PODS = {"matchExpressions": [{"key": "serving.kserve.io/inferenceservice", "operator": "Exists"}]}


def _namespace_peer(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: name}}}


def allowed_source_namespaces(plan: StackPlan) -> list[str]:
    """Namespaces whose pods may call the models, in a stable order without duplicates."""
    config = plan.config
    names = [config.kserve.namespace]
    if config.ingress.enabled:
        names.append(config.ingress.controller_namespace)
    if config.apisix.enabled:
        names.append(config.apisix.gateway_namespace)
    if config.gateway_api.enabled and config.gateway_api.gateway is not None:
        names.append(config.gateway_api.gateway.namespace)
    if config.genai_gateway.enabled:
        names.append(config.genai_gateway.namespace)
    if config.network_policy.monitoring_namespace:
        names.append(config.network_policy.monitoring_namespace)
    names += [peer.namespace for peer in config.network_policy.allow_from if peer.namespace]
    return list(dict.fromkeys(names))


def _ingress_peers(plan: StackPlan) -> list[dict[str, Any]]:
    peers = [_namespace_peer(name) for name in allowed_source_namespaces(plan)]
    for peer in plan.config.network_policy.allow_from:
        if peer.namespace_labels:
            peers.append({"namespaceSelector": {"matchLabels": dict(peer.namespace_labels)}})
    return peers


def _hub_egress(plan: StackPlan) -> list[dict[str, Any]]:
    egress = plan.config.network_policy.egress
    if egress.hub == "none":
        return []
    if egress.hub == "proxy":
        proxy = egress.proxy
        assert proxy is not None
        target = {"ipBlock": {"cidr": proxy.cidr}} if proxy.cidr else _namespace_peer(proxy.namespace or "")
        return [{"to": [target], "ports": [{"protocol": "TCP", "port": proxy.port}]}]
    # direct: the hub has no fixed addresses, so HTTPS to anywhere except the
    # private ranges (cluster pods and services, internal networks).
    v4 = [c for c in egress.except_cidrs if ipaddress.ip_network(c).version == 4]
    v6 = [c for c in egress.except_cidrs if ipaddress.ip_network(c).version == 6]
    blocks = [{"ipBlock": {"cidr": "0.0.0.0/0", **({"except": v4} if v4 else {})}}]
    if v6:  # IPv6 only when its cluster ranges are excluded explicitly
        blocks.append({"ipBlock": {"cidr": "::/0", "except": v6}})
    return [{"to": blocks, "ports": [{"protocol": "TCP", "port": HTTPS_PORT}]}]


def _endpoint_egress(plan: StackPlan) -> list[dict[str, Any]]:
    """One rule per configured endpoint with an address (IP or in-cluster Service), then `allowTo`."""
    config = plan.config
    rules: list[dict[str, Any]] = []
    for endpoint in reached_endpoints(config, fetched_sources(plan.models)):
        if not endpoint.opened_by_address(config.namespace):
            continue  # a DNS name outside the cluster: the hub rule or allowTo covers it (else refused)
        namespace = endpoint.namespace(config.namespace) if endpoint.address is None else None
        target = _namespace_peer(namespace) if namespace else {"ipBlock": {"cidr": endpoint.address}}
        rules.append({"to": [target], "ports": _tcp(endpoint.port)})
    for peer in config.network_policy.egress.allow_to:
        target = {"ipBlock": {"cidr": peer.cidr}} if peer.cidr else _namespace_peer(peer.namespace or "")
        rules.append({"to": [target], "ports": _tcp(peer.port)})
    unique = {repr(rule): rule for rule in rules}
    return list(unique.values())


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _serverless_ingress(plan: StackPlan) -> list[dict[str, Any]]:
    """Knative's activator, autoscaler and gateways reach the queue-proxy, not vLLM."""
    kserve = plan.config.kserve
    if not kserve.serverless:
        return []
    sources = (KNATIVE_NAMESPACE, *NETWORKING_NAMESPACES[kserve.networking_layer], *allowed_source_namespaces(plan))
    return [{"from": [_namespace_peer(name) for name in dict.fromkeys(sources)], "ports": _tcp(*QUEUE_PROXY_PORTS)}]


def model_network_policy(plan: StackPlan) -> dict[str, Any]:
    egress = [
        # DNS, wherever the cluster resolver runs (kube-dns, node-local-dns).
        {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        *_hub_egress(plan),
        *_endpoint_egress(plan),
    ]
    # The serving port of every runtime in use (8080; a custom runtime may declare another).
    ports = sorted({r.stack.port for r in plan.runtimes} or {SERVING_PORT})
    ingress = [{"from": _ingress_peers(plan), "ports": _tcp(*ports)}, *_serverless_ingress(plan)]
    if any(model.multinode for model in plan.models):
        # A multi-node model's Ray head and workers talk on many ports, only to each other.
        ingress.append({"from": [{"podSelector": PREDICTOR_PODS}]})
        egress.append({"to": [{"podSelector": PREDICTOR_PODS}]})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": naming.NETWORK_POLICY,
            "namespace": plan.config.namespace,
            "labels": naming.labels(naming.NETWORK_POLICY, "network-policy"),
        },
        "spec": {
            # Every predictor pod KServe creates in the namespace.
            "podSelector": PREDICTOR_PODS,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }
