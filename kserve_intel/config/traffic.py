"""The traffic path: `ingress`, `apisix`, `gatewayApi`, `genaiGateway` and `networkPolicy` (rules/traffic.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ..k8s_names import qualified_name
from .values import Cidr, DnsLabel, DnsSubdomain, Host, LabelMap, Strict, Url, check_dns_subdomain


class IngressTlsConfig(Strict):
    secret_name: str = ""

    @field_validator("secret_name")
    @classmethod
    def _secret(cls, value: str) -> str:
        return value if value == "" else check_dns_subdomain(value)


class IngressConfig(Strict):
    """A Kubernetes Ingress per model (ingress-nginx by default)."""

    enabled: bool = False
    class_name: str = "nginx"
    host: Host = ""
    # path: /<model>/... on one host (ingress-nginx rewrite); host: <model>.<host>, any controller.
    routing: Literal["path", "host"] = "path"
    tls: IngressTlsConfig = Field(default_factory=IngressTlsConfig)
    annotations: dict[str, str] = Field(default_factory=dict)
    # Where the ingress controller runs: allowed through the network policy.
    controller_namespace: DnsLabel = "ingress-nginx"

    @field_validator("class_name")
    @classmethod
    def _class(cls, value: str) -> str:
        return check_dns_subdomain(value)

    @field_validator("annotations")
    @classmethod
    def _annotation_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if qualified_name(key):
                raise ValueError(f"{key!r} is not a valid Kubernetes annotation key ({qualified_name(key)})")
        return value


DEFAULT_KEYCLOAK_DISCOVERY = "http://keycloak.default.svc.cluster.local/realms/master/.well-known/openid-configuration"


class KeycloakConfig(Strict):
    discovery_url: Url = DEFAULT_KEYCLOAK_DISCOVERY
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: SecretStr
    realm: str = Field(default="master", min_length=1, max_length=255)
    # introspection: ask Keycloak per request; jwks: verify signatures locally.
    token_validation: Literal["introspection", "jwks"] = "introspection"


class ApisixAuthConfig(Strict):
    keycloak: KeycloakConfig
    bearer_only: bool = True


class RateLimitConfig(Strict):
    enabled: bool = True
    requests_per_minute: int = Field(default=60, ge=1, le=1_000_000)
    burst: int = Field(default=20, ge=0, le=1_000_000)
    key: Literal["remote_addr", "http_x_forwarded_for", "http_authorization"] = "remote_addr"


class ApisixConfig(Strict):
    """An ApisixRoute per model: Keycloak OIDC, rate limit, path rewrite."""

    enabled: bool = False
    gateway_namespace: DnsLabel = "auth-apisix"
    ingress_class_name: str = "apisix"
    host: Host = ""
    auth: ApisixAuthConfig | None = None
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)

    @field_validator("ingress_class_name")
    @classmethod
    def _class(cls, value: str) -> str:
        return check_dns_subdomain(value)


class GatewayRefConfig(Strict):
    name: DnsSubdomain
    namespace: DnsLabel
    section_name: DnsLabel | None = None


class GatewayApiConfig(Strict):
    """Gateway API routes: our own HTTPRoutes, or KServe's (v0.15+)."""

    enabled: bool = False
    # stack: this program creates one HTTPRoute per model; kserve: the KServe
    # controller creates them (enableGatewayApi). Never both.
    routes: Literal["stack", "kserve"] = "stack"
    gateway: GatewayRefConfig | None = None
    host: Host = ""


class GenaiGatewayConfig(Strict):
    """The model list a LiteLLM-based gateway consumes."""

    enabled: bool = False
    namespace: DnsLabel = "genai-gateway"
    config_map_name: DnsSubdomain = "kserve-intel-models"


class PeerConfig(Strict):
    """One allowed source: a namespace by name, or namespaces by labels."""

    namespace: DnsLabel | None = None
    namespace_labels: LabelMap | None = None


class HubProxyConfig(Strict):
    cidr: Cidr | None = None
    namespace: DnsLabel | None = None
    port: int = Field(ge=1, le=65535)


PRIVATE_CIDRS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


class EgressConfig(Strict):
    # direct: HTTPS to the internet (not to exceptCIDRs); proxy: only to the
    # proxy or in-cluster mirror; none: air-gapped (weights already cached).
    hub: Literal["direct", "proxy", "none"] = "direct"
    except_cidrs: list[Cidr] = Field(default_factory=lambda: list(PRIVATE_CIDRS))
    proxy: HubProxyConfig | None = None


class NetworkPolicyConfig(Strict):
    enabled: bool = True
    allow_from: list[PeerConfig] = Field(default_factory=list)
    monitoring_namespace: DnsLabel | None = "monitoring"
    egress: EgressConfig = Field(default_factory=EgressConfig)
