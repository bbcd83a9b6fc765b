"""The traffic path: `ingress`, `apisix`, `gatewayApi`, `genaiGateway` and `networkPolicy` (rules/traffic.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ..k8s_names import qualified_name
from .values import Cidr, DnsLabel, DnsSubdomain, Host, LabelMap, Strict, Url, check_dns_subdomain


class IngressTlsConfig(Strict):
    secret_name: str = ""
    """TLS Secret for the host(s); empty: plain HTTP."""

    @field_validator("secret_name")
    @classmethod
    def _secret(cls, value: str) -> str:
        return value if value == "" else check_dns_subdomain(value)


class IngressConfig(Strict):
    """A Kubernetes Ingress per model (ingress-nginx by default)."""

    enabled: bool = False
    """One Ingress `<model>-route` per model to its predictor Service (port 80). The keys below must not be set while
    disabled.
    """
    class_name: str = "nginx"
    """IngressClass."""
    host: Host = ""
    """Host of the rules; empty matches any host (path routing only)."""
    routing: Literal["path", "host"] = "path"
    """`path`: `/<model>/...` on one host, rewritten to `/...` with ingress-nginx's `rewrite-target` (needs
    ingress-nginx). `host`: each model at `<model>.<host>`, no rewrite (any controller; `host` required).
    """
    tls: IngressTlsConfig = Field(default_factory=IngressTlsConfig)
    """TLS of the Ingress hosts."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Extra annotations; they win over ours (timeouts, buffering off, regex)."""
    controller_namespace: DnsLabel = "ingress-nginx"
    """Namespace of the ingress controller pods, admitted by the network policy."""

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
    """OpenID discovery document of the realm."""
    client_id: str = Field(min_length=1, max_length=255)
    """Keycloak client of the gateway."""
    client_secret: SecretStr
    """`pulumi config set --secret --path 'kserve-intel:apisix.auth.keycloak.clientSecret' <secret>`; plaintext is
    refused. Stored in Secret `apisix-keycloak-client`, read by the plugin through `secretRef`.
    """
    realm: str = Field(default="master", min_length=1, max_length=255)
    """Realm named in `WWW-Authenticate`."""
    token_validation: Literal["introspection", "jwks"] = "introspection"
    """`introspection` (ask Keycloak per request) or `jwks` (verify signatures locally, `use_jwks`)."""


class ApisixAuthConfig(Strict):
    keycloak: KeycloakConfig
    """The Keycloak realm and client the routes authenticate against (required with `apisix.enabled`)."""
    bearer_only: bool = True
    """Only accept `Authorization: Bearer` tokens; `false` redirects browsers to the Keycloak login."""


class RateLimitConfig(Strict):
    enabled: bool = True
    """`limit-req` plugin (HTTP 429 beyond the limit)."""
    requests_per_minute: int = Field(default=60, ge=1, le=1_000_000)
    """Sustained rate per key."""
    burst: int = Field(default=20, ge=0, le=1_000_000)
    """Requests above the rate let through at once (`nodelay`)."""
    key: Literal["remote_addr", "http_x_forwarded_for", "http_authorization"] = "remote_addr"
    """What is limited: `remote_addr`, `http_x_forwarded_for` (behind a load balancer) or `http_authorization` (per
    token).
    """


class ApisixConfig(Strict):
    """An ApisixRoute per model: Keycloak OIDC, rate limit, path rewrite."""

    enabled: bool = False
    """One `apisix.apache.org/v2` ApisixRoute `<model>-route` per model with Keycloak authentication, rate limit and
    path rewrite. Requires `apisix.auth.keycloak`.
    """
    gateway_namespace: DnsLabel = "auth-apisix"
    """Namespace of the APISIX gateway pods, admitted by the network policy."""
    ingress_class_name: str = "apisix"
    """IngressClass the APISIX ingress controller watches."""
    host: Host = ""
    """Host to match (`*.example.com` allowed); empty matches any host (never an empty host entry)."""
    auth: ApisixAuthConfig | None = None
    """Authentication of the APISIX routes (`openid-connect` against Keycloak)."""
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    """APISIX `limit-req`: requests per minute and burst per key."""

    @field_validator("ingress_class_name")
    @classmethod
    def _class(cls, value: str) -> str:
        return check_dns_subdomain(value)


class GatewayRefConfig(Strict):
    name: DnsSubdomain
    """Name of the Gateway."""
    namespace: DnsLabel
    """Namespace of the Gateway; admitted by the network policy."""
    section_name: DnsLabel | None = None
    """Listener of the Gateway to attach to (optional)."""


class GatewayApiConfig(Strict):
    """Gateway API routes: our own HTTPRoutes, or KServe's (v0.15+)."""

    enabled: bool = False
    """Gateway API routes to each model. RawDeployment/Standard only: refused with `kserve.deploymentMode: Serverless`
    (see [Routes in Serverless mode](traffic.md#routes-in-serverless-mode-and-with-a-canary)).
    """
    routes: Literal["stack", "kserve"] = "stack"
    """`stack`: this program creates an HTTPRoute `<model>-route` per model (`/<model>` prefix rewritten to `/`).
    `kserve`: the KServe controller creates them (`enableGatewayApi`, KServe v0.15+, only when this stack installs
    KServe). Never both.
    """
    gateway: GatewayRefConfig | None = None
    """`{name, namespace, sectionName?}` of the Gateway; its namespace is admitted by the network policy."""
    host: Host = ""
    """Hostname of our HTTPRoutes (`routes: stack` only); empty: the Gateway's listeners decide."""


class GenaiGatewayConfig(Strict):
    """The model list a LiteLLM-based gateway consumes."""

    enabled: bool = False
    """Publish the model list for a LiteLLM-based GenAI gateway."""
    namespace: DnsLabel = "genai-gateway"
    """Namespace of the gateway (must exist); also admitted by the network policy."""
    config_map_name: DnsSubdomain = "kserve-intel-models"
    """ConfigMap holding `config.yaml` with `model_list`."""


class PeerConfig(Strict):
    """One allowed source: a namespace by name, or namespaces by labels."""

    namespace: DnsLabel | None = None
    """A namespace (by name) whose pods may reach the models; exactly one of `namespace`, `namespaceLabels`."""
    namespace_labels: LabelMap | None = None
    """Labels of the namespaces whose pods may reach the models; exactly one of `namespace`, `namespaceLabels`."""


class HubProxyConfig(Strict):
    cidr: Cidr | None = None
    """Address range of the proxy or hub mirror; one of `cidr`, `namespace`."""
    namespace: DnsLabel | None = None
    """In-cluster namespace of the proxy or hub mirror; one of `cidr`, `namespace`."""
    port: int = Field(ge=1, le=65535)
    """Port of the proxy or hub mirror."""


class EgressPeerConfig(Strict):
    """One more destination the model pods may reach: an address range or an in-cluster namespace, and a port."""

    cidr: Cidr | None = None
    """Address range of the destination; exactly one of `cidr`, `namespace`."""
    namespace: DnsLabel | None = None
    """In-cluster namespace of the destination's pods; exactly one of `cidr`, `namespace`."""
    port: int = Field(ge=1, le=65535)
    """TCP port of the destination's pods (for a Service, its target port)."""


PRIVATE_CIDRS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


class EgressConfig(Strict):
    hub: Literal["direct", "proxy", "none"] = "direct"
    """`direct`: HTTPS (443) to any address outside `exceptCidrs`; `proxy`: only to `proxy`; `none`: no hub access
    (air-gapped, weights already cached).
    """
    except_cidrs: list[Cidr] = Field(default_factory=lambda: list(PRIVATE_CIDRS))
    """Ranges `direct` never reaches (cluster and internal networks). An IPv6 range also opens `::/0` minus it."""
    proxy: HubProxyConfig | None = None
    """`{cidr or namespace, port}` of the HTTP proxy or in-cluster hub mirror (`hub: proxy` only)."""
    allow_to: list[EgressPeerConfig] = Field(default_factory=list)
    """More destinations: `[{cidr or namespace, port}]`. Needed only for an endpoint the stack configures by a DNS name
    outside the cluster on a port the policy does not open (an `hfEndpoint` mirror or `registry.s3.endpoint` such as
    `minio.corp:9000`): a NetworkPolicy takes addresses, not names. An endpoint given as an IP address or an
    in-cluster Service name (`<service>.<namespace>.svc`) is opened on its own port without it. See
    [Endpoints the pods reach](traffic.md#endpoints-the-model-pods-reach).
    """


class NetworkPolicyConfig(Strict):
    enabled: bool = True
    """NetworkPolicy `kserve-intel-vllm` on every model pod: ingress only on 8080 from allowed namespaces, egress only
    DNS, the hub and each endpoint the stack configures (hub mirror, S3 endpoint), each on its own address and port.
    """
    allow_from: list[PeerConfig] = Field(default_factory=list)
    """Extra sources: `{namespace: name}` or `{namespaceLabels: {...}}` (exactly one each)."""
    monitoring_namespace: DnsLabel | None = "monitoring"
    """Prometheus' namespace (scrapes `/metrics` on 8080); `null` to admit none."""
    egress: EgressConfig = Field(default_factory=EgressConfig)
    """What model pods may reach: DNS, the Hugging Face hub (direct, through a proxy, or none) and the endpoints the
    stack configures.
    """
