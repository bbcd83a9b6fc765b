"""The stack configuration: every key, its default and its limits, in one place.

`load_config` turns the raw `kserve-intel:*` values Pulumi hands the program
into a validated, immutable `StackConfig`, or raises one `ConfigError` that
lists every bad key with its value and what is allowed.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Any, Iterable, Literal, Mapping, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BeforeValidator,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from .charts import repository_issues
from .strict import COMMIT as _COMMIT, GIT_REF as _GIT_REF, HF_ID as _HF_ID, HTTP_URL as _HTTP_URL
from .strict import Strict as _Strict
from .errors import CONFIG_NAMESPACE, ConfigError, ConfigIssue
from .k8s_names import dns1035_label, dns1123_subdomain, label_value, qualified_name
from .registry import SECRET_FIELDS as REGISTRY_SECRET_FIELDS, RegistryConfig, RegistrySource, registry_checks
from .lora import RESERVED_LORA_ARGS, AdapterConfig, LoraLimitsConfig, lora_rules
from .custom_runtimes import CustomRuntimeConfig, custom_checks
from .versions import SUPPORTED_TAGS, normalize_tag

# --- value types -------------------------------------------------------------

_QUANTITY = re.compile(r"^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Prometheus durations as the Prometheus Operator CRDs accept them (30s, 5m, 1h30m).
_DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$")


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(
            "must be a Kubernetes quantity such as 100Gi, 512Mi, 16 or 500m "
            "(suffixes Ki Mi Gi Ti Pi Ei, k M G T P E, m)"
        )
    return value


def _dns_label(value: str) -> str:
    if dns1035_label(value):
        raise ValueError(
            "must be a DNS-1123 label: at most 63 characters, lowercase letters, "
            "digits and '-', starting with a letter and ending with a letter or digit"
        )
    return value


def _dns_subdomain(value: str) -> str:
    if dns1123_subdomain(value):
        raise ValueError("must be a DNS name such as example.com (lowercase letters, digits, '-' and '.')")
    return value


def _duration(value: str) -> str:
    if not value or value == "0" or not _DURATION.match(value):
        raise ValueError("must be a Prometheus duration such as 30s, 5m or 1h30m (units ms s m h d w y)")
    return value


def duration_seconds(value: str) -> float:
    """Seconds in a Prometheus duration (already validated)."""
    units = {"y": 31_536_000, "w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1, "ms": 0.001}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|y|w|d|h|m|s)", value))


def _image(value: str) -> str:
    if not _IMAGE.match(value):
        raise ValueError("must be an image reference such as registry/repo:tag or registry/repo@sha256:<digest>")
    last = value.rsplit("/", 1)[-1]
    if "@sha256:" not in value and (":" not in last or last.endswith(":latest")):
        raise ValueError("must be pinned by a tag other than 'latest' or by digest, so every node runs the same image")
    return value


def _hf_id(value: str) -> str:
    if len(value) > 96 or not _HF_ID.match(value):
        raise ValueError("must be a Hugging Face model id '<organisation>/<model>' such as meta-llama/Llama-3.1-8B-Instruct")
    return value


def _revision(value: str) -> str:
    """A Hugging Face commit (40 hex digits) or a tag/branch name."""
    if _COMMIT.match(value):
        return value
    if not _GIT_REF.match(value) or ".." in value or value.endswith(("/", ".lock", ".")):
        raise ValueError(
            "must be a Hugging Face commit (40 lowercase hex digits) or a tag/branch name such as v1.0 "
            "(letters, digits, '.', '_', '-', '/'; at most 100 characters)"
        )
    return value


def _http_url(value: str) -> str:
    if not _HTTP_URL.match(value):
        raise ValueError("must be an http(s) URL such as http://prometheus-operated.monitoring.svc:9090")
    return value


def _label_map(value: dict[str, str]) -> dict[str, str]:
    for key, item in value.items():
        if qualified_name(key):
            raise ValueError(f"{key!r} is not a valid Kubernetes label key ({qualified_name(key)})")
        if label_value(item):
            raise ValueError(f"{item!r} (for {key}) is not a valid label value: at most 63 letters, digits, '-', '_' or '.'")
    return value


def _number_as_text(value: Any) -> Any:
    # YAML `cpu: 32` arrives as a number; Kubernetes quantities are strings.
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Quantity = Annotated[str, BeforeValidator(_number_as_text), AfterValidator(_quantity)]
DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
Image = Annotated[str, AfterValidator(_image)]
HuggingFaceId = Annotated[str, AfterValidator(_hf_id)]
LabelMap = Annotated[dict[str, str], AfterValidator(_label_map)]
Duration = Annotated[str, AfterValidator(_duration)]
Revision = Annotated[str, AfterValidator(_revision)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]

# Flags that have their own config key; setting them in extraArgs would be
# silently overridden or would fight the key.
RESERVED_ARGS = {
    "--model": "id",
    "--served-model-name": "servedModelName",
    "--tensor-parallel-size": "tensorParallelSize",
    "--pipeline-parallel-size": "pipelineParallelSize",
    "--max-model-len": "maxModelLen",
    "--port": "(fixed at 8080: KServe routes to it)",
    "--host": "(vLLM must listen on all interfaces)",
    "--api-key": "(put credentials in Secrets, never in args)",
    "--hf-token": "hfToken",
    "--revision": "revision",
    "--tokenizer-revision": "revision",
    "--code-revision": "revision",
    **RESERVED_LORA_ARGS,
}
# Environment the program owns: the token comes from a Secret, the cache path
# from the storage settings.
RESERVED_ENV = {
    "HF_TOKEN": "hfToken",
    "HUGGING_FACE_HUB_TOKEN": "hfToken",
    "HF_HOME": "storage",
    "HF_ENDPOINT": "hfEndpoint",
}


# --- sections ----------------------------------------------------------------

DeploymentMode = Literal["RawDeployment", "Standard", "Serverless", "Knative"]


class KServeConfig(_Strict):
    """How KServe itself is installed (or found)."""

    install: bool = True
    version: str = "v0.13.0"
    namespace: DnsLabel = "kserve"
    deployment_mode: DeploymentMode = "RawDeployment"
    cert_manager: Literal["install", "existing"] = "install"
    cert_manager_version: str | None = None
    ingress_domain: DnsSubdomain = "example.com"
    # Serverless only: install Knative Serving (operator + KnativeServing) or use the cluster's.
    knative: Literal["install", "existing"] | None = None
    # Serverless only: Knative's networking layer.
    networking: Literal["kourier", "istio"] | None = None

    @field_validator("version")
    @classmethod
    def _supported(cls, value: str) -> str:
        try:
            tag = normalize_tag(value)
        except ValueError:
            tag = None
        if tag not in SUPPORTED_TAGS:
            raise ValueError("unsupported KServe version; supported: " + ", ".join(SUPPORTED_TAGS))
        return tag

    @field_validator("cert_manager_version")
    @classmethod
    def _cm_version(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_tag(value)
        except ValueError:
            raise ValueError("must be a cert-manager release such as v1.17.0") from None

    @property
    def serverless(self) -> bool:
        return self.deployment_mode in ("Serverless", "Knative")

    @property
    def knative_source(self) -> str:
        return self.knative or "install"

    @property
    def networking_layer(self) -> str:
        return self.networking or "kourier"


class ResourcesConfig(_Strict):
    requests: dict[str, Quantity] = Field(default_factory=dict)
    limits: dict[str, Quantity] = Field(default_factory=dict)


CustomRuntimeConfig.model_rebuild(_types_namespace={"ResourcesConfig": ResourcesConfig})


class RuntimesConfig(_Strict):
    """The Intel ClusterServingRuntimes."""

    configure_intel: bool = True
    image: Image | None = None
    node_selector: LabelMap | None = None
    accelerators_per_node: int | None = Field(default=None, ge=1, le=64)
    # Serving containers of your own (kserve_intel/custom_runtimes.py); models pick one by `backend`.
    custom: list[CustomRuntimeConfig] = Field(default_factory=list, max_length=16)


def _check_extra_args(value: list[str]) -> list[str]:
    for arg in value:
        flag = arg.split("=", 1)[0].replace("_", "-")
        if flag in RESERVED_ARGS:
            raise ValueError(f"{arg!r} is set by the program; use {RESERVED_ARGS[flag]} instead")
    return value


def _check_env(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if not _ENV_NAME.match(key):
            raise ValueError(f"{key!r} is not a valid environment variable name")
        if key in RESERVED_ENV:
            raise ValueError(f"{key} is set by the program; use {RESERVED_ENV[key]} instead")
    return value


class ModelScalingConfig(_Strict):
    """Per-model override of the stack's autoscaling bounds and target."""

    min_replicas: int | None = Field(default=None, ge=0, le=1000)
    max_replicas: int | None = Field(default=None, ge=1, le=1000)
    target: int | None = Field(default=None, ge=1, le=100_000)


class CanaryConfig(_Strict):
    """A new version of the model served beside the stable one with a share of the traffic."""

    traffic_percent: int = Field(ge=0, le=100)
    # Name of the canary predictor (KServe v0.20 Standard mode: Deployment <model>-<name>-predictor).
    name: DnsLabel | None = None
    image: Image | None = None
    revision: Revision | None = None
    extra_args: list[str] | None = None
    env: dict[str, str] | None = None
    # Another registry alias or version of the model's source (kserve_intel/registry.py).
    source: RegistrySource | None = None
    # Another adapter set on the same base (kserve_intel/lora.py); None: the model's adapters.
    adapters: list[AdapterConfig] | None = None

    @field_validator("extra_args")
    @classmethod
    def _no_reserved_args(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_extra_args(value)

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else _check_env(value)

    @property
    def changes(self) -> bool:
        return any(v is not None for v in (self.image, self.revision, self.extra_args, self.env, self.source, self.adapters))


# Bounds of the wait keys (minutes): a day for a model to load, two hours for an InferenceService to go.
MAX_READY_TIMEOUT_MINUTES = 1440
DEFAULT_DELETE_TIMEOUT_MINUTES = 20
MAX_DELETE_TIMEOUT_MINUTES = 120


class ModelLocalCacheConfig(_Strict):
    """This model's weights are kept on the node group's local disks (a LocalModelCache)."""

    # Disk the weights take on each node (LocalModelCache.spec.modelSize).
    size: Quantity


class ModelConfig(_Strict):
    """One model; a bare string in `models` is shorthand for `{id: ...}`."""

    id: HuggingFaceId
    name: DnsLabel | None = None
    served_model_name: str | None = Field(default=None, min_length=1, max_length=256, pattern=r"^\S+$")
    tensor_parallel_size: int | None = Field(default=None, ge=1, le=64)
    pipeline_parallel_size: int | None = Field(default=None, ge=1, le=64)
    max_model_len: int | None = Field(default=None, ge=128, le=10_485_760)
    extra_args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    resources: ResourcesConfig | None = None
    gated: bool | None = None
    # Hugging Face commit or tag of the weights (and tokenizer): a reproducible rollout.
    revision: Revision | None = None
    autoscaling: ModelScalingConfig | None = None
    canary: CanaryConfig | None = None
    # Nodes one replica spans (multi-node serving): tensor parallel inside a node, pipeline across nodes.
    nodes: int | None = Field(default=None, ge=1, le=16)
    # Pre-load the weights on the local model cache nodes (KServe LocalModelCache, v0.15+).
    local_cache: ModelLocalCacheConfig | None = None
    # Weights from a registered model in MLflow instead of the hub (kserve_intel/registry.py).
    source: RegistrySource | None = None
    # LoRA adapters served by the same vLLM beside the base (kserve_intel/lora.py).
    adapters: list[AdapterConfig] = Field(default_factory=list, max_length=64)
    # Adapter limits (--max-loras, --max-lora-rank, --max-cpu-loras); None: the platform's defaults.
    lora: LoraLimitsConfig | None = None
    # How long `pulumi up` waits for this model to be Ready; None: the stack's readyTimeoutMinutes.
    ready_timeout_minutes: int | None = Field(default=None, ge=1, le=MAX_READY_TIMEOUT_MINUTES)
    # This model's pinned server (serving_stacks.py); None: the stack-wide `servingStack`.
    serving_stack: str | None = Field(default=None, min_length=1, max_length=63)
    # This model's server family: vllm, tgi, ovms or a runtimes.custom name; None: the stack-wide `backend`.
    backend: str | None = Field(default=None, min_length=1, max_length=63)

    @field_validator("extra_args")
    @classmethod
    def _no_reserved_args(cls, value: list[str]) -> list[str]:
        return _check_extra_args(value)

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_env(value)


class StorageConfig(_Strict):
    """The per-model Hugging Face cache volume."""

    enabled: bool = True
    size: Quantity = "100Gi"
    storage_class: str = ""
    access_mode: Literal["ReadWriteOnce", "ReadWriteMany", "ReadWriteOncePod"] = "ReadWriteOnce"
    # Keep the claims (and the namespace that holds them) on `pulumi destroy`
    # and when a model leaves `models`: weights took hours to download.
    retain_on_destroy: bool = True

    @field_validator("storage_class")
    @classmethod
    def _class_name(cls, value: str) -> str:
        return value if value == "" else _dns_subdomain(value)


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or value.rstrip("/") == "" or "//" in value or "/../" in value + "/" \
            or any(c.isspace() for c in value) or len(value) > 255:
        raise ValueError("must be an absolute directory path on the nodes such as /mnt/models (not /)")
    return value.rstrip("/")


AbsolutePath = Annotated[str, AfterValidator(_absolute_path)]


class LocalModelNodeGroupConfig(_Strict):
    """The nodes that keep cached weights on a local disk (a LocalModelNodeGroup)."""

    name: DnsLabel = "kserve-intel"
    # Directory on each node that holds the cache: the local PersistentVolume's path and the
    # hostPath of KServe's node agent.
    local_path: AbsolutePath = "/mnt/models"
    # Disk reserved for cached models on each node (storageLimit, PV capacity and claim size).
    size: Quantity = "1Ti"
    storage_class: str = "local-storage"
    # Nodes of the group; default: the runtime's node selector.
    node_selector: LabelMap | None = None

    @field_validator("storage_class")
    @classmethod
    def _class_name(cls, value: str) -> str:
        return _dns_subdomain(value)


class LocalModelCacheConfig(_Strict):
    """KServe's local model cache (v0.15+): weights pre-loaded on node-local disks."""

    enabled: bool = False
    # Namespace of KServe's download jobs (chart value kserve.localmodel.jobNamespace).
    job_namespace: DnsLabel = "kserve-localmodel-jobs"
    node_group: LocalModelNodeGroupConfig = Field(default_factory=LocalModelNodeGroupConfig)


DEFAULT_PROMETHEUS_ADDRESS = "http://prometheus-operated.monitoring.svc:9090"


class KedaConfig(_Strict):
    """KEDA: where it comes from and where it reads vLLM's metrics."""

    install: bool = True
    version: str | None = None
    prometheus_address: HttpUrl = DEFAULT_PROMETHEUS_ADDRESS
    # PromQL whose value is above 0 while requests arrive for a model scaled to zero
    # (vLLM's own metrics vanish with its last pod, so they cannot wake it).
    wake_query: str | None = Field(default=None, min_length=1, max_length=2000)

    @field_validator("version")
    @classmethod
    def _chart_version(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^\d+\.\d+\.\d+$", value):
            raise ValueError("must be a KEDA chart version such as 2.18.0")
        return value


AutoscalingEngine = Literal["hpa", "keda", "knative"]
AutoscalingMetric = Literal["concurrency", "rps", "cpu", "memory", "waiting", "ttft"]


class AutoscalingConfig(_Strict):
    enabled: bool = False
    # None resolves per deployment mode: knative (Serverless), hpa (RawDeployment).
    engine: AutoscalingEngine | None = None
    min_replicas: int = Field(default=1, ge=0, le=1000)
    max_replicas: int = Field(default=4, ge=1, le=1000)
    # None resolves per engine: concurrency (knative), cpu (hpa), waiting (keda).
    metric: AutoscalingMetric | None = None
    # None resolves per metric (see kserve_intel/scaling.py DEFAULT_TARGETS).
    target: int | None = Field(default=None, ge=1, le=100_000)
    keda: KedaConfig | None = None


class AlertsConfig(_Strict):
    """PrometheusRule thresholds (see README "Monitoring")."""

    enabled: bool = True
    # A model with no available replica for this long.
    not_ready_for: Duration = "15m"
    # How long a performance condition must hold before it fires.
    for_: Duration = Field(default="10m", alias="for")
    waiting_requests: int = Field(default=10, ge=1, le=100_000)
    ttft_p95_seconds: float = Field(default=5.0, gt=0, le=3_600)
    kv_cache_usage: float = Field(default=0.9, gt=0, le=1)
    restarts_per_hour: int = Field(default=3, ge=1, le=1_000)


class GrafanaDashboardConfig(_Strict):
    """The per-stack vLLM dashboard."""

    enabled: bool = True
    # configmap: a ConfigMap for Grafana's dashboard sidecar (kube-prometheus-stack);
    # operator: a GrafanaDashboard resource for the Grafana Operator (v5).
    mode: Literal["configmap", "operator"] = "configmap"
    # Where the dashboard object lives; default: the models' namespace.
    namespace: DnsLabel | None = None
    sidecar_label: LabelMap = Field(default_factory=lambda: {"grafana_dashboard": "1"})
    instance_selector: LabelMap = Field(default_factory=lambda: {"dashboards": "grafana"})


class MonitoringConfig(_Strict):
    """PodMonitor, PrometheusRule and Grafana dashboard (need the Prometheus Operator)."""

    enabled: bool = False
    # Labels the cluster's Prometheus selects monitors and rules by.
    prometheus_selector: LabelMap = Field(default_factory=lambda: {"release": "observability"})
    interval: Duration = "30s"
    scrape_timeout: Duration = "10s"
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    grafana_dashboard: GrafanaDashboardConfig = Field(default_factory=GrafanaDashboardConfig)


# --- traffic path: ingress, gateways, network isolation ----------------------

_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s]*)?$")


def _host(value: str) -> str:
    if value and (len(value) > 253 or not _HOST.match(value)):
        raise ValueError("must be a DNS host name such as llm.example.com (a leading '*.' is allowed), or empty")
    return value


def _url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError("must be an http:// or https:// URL such as https://huggingface.co")
    return value.rstrip("/")


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("must be a CIDR block such as 10.0.0.0/8 (host bits zero)") from None
    return value


Host = Annotated[str, AfterValidator(_host)]
Url = Annotated[str, AfterValidator(_url)]
Cidr = Annotated[str, AfterValidator(_cidr)]


class IngressTlsConfig(_Strict):
    secret_name: str = ""

    @field_validator("secret_name")
    @classmethod
    def _secret(cls, value: str) -> str:
        return value if value == "" else _dns_subdomain(value)


class IngressConfig(_Strict):
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
        return _dns_subdomain(value)

    @field_validator("annotations")
    @classmethod
    def _annotation_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if qualified_name(key):
                raise ValueError(f"{key!r} is not a valid Kubernetes annotation key ({qualified_name(key)})")
        return value


DEFAULT_KEYCLOAK_DISCOVERY = "http://keycloak.default.svc.cluster.local/realms/master/.well-known/openid-configuration"


class KeycloakConfig(_Strict):
    discovery_url: Url = DEFAULT_KEYCLOAK_DISCOVERY
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: SecretStr
    realm: str = Field(default="master", min_length=1, max_length=255)
    # introspection: ask Keycloak per request; jwks: verify signatures locally.
    token_validation: Literal["introspection", "jwks"] = "introspection"


class ApisixAuthConfig(_Strict):
    keycloak: KeycloakConfig
    bearer_only: bool = True


class RateLimitConfig(_Strict):
    enabled: bool = True
    requests_per_minute: int = Field(default=60, ge=1, le=1_000_000)
    burst: int = Field(default=20, ge=0, le=1_000_000)
    key: Literal["remote_addr", "http_x_forwarded_for", "http_authorization"] = "remote_addr"


class ApisixConfig(_Strict):
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
        return _dns_subdomain(value)


class GatewayRefConfig(_Strict):
    name: DnsSubdomain
    namespace: DnsLabel
    section_name: DnsLabel | None = None


class GatewayApiConfig(_Strict):
    """Gateway API routes: our own HTTPRoutes, or KServe's (v0.15+)."""

    enabled: bool = False
    # stack: this program creates one HTTPRoute per model; kserve: the KServe
    # controller creates them (enableGatewayApi). Never both.
    routes: Literal["stack", "kserve"] = "stack"
    gateway: GatewayRefConfig | None = None
    host: Host = ""


class GenaiGatewayConfig(_Strict):
    """The model list a LiteLLM-based gateway consumes."""

    enabled: bool = False
    namespace: DnsLabel = "genai-gateway"
    config_map_name: DnsSubdomain = "kserve-intel-models"


class PeerConfig(_Strict):
    """One allowed source: a namespace by name, or namespaces by labels."""

    namespace: DnsLabel | None = None
    namespace_labels: LabelMap | None = None


class HubProxyConfig(_Strict):
    cidr: Cidr | None = None
    namespace: DnsLabel | None = None
    port: int = Field(ge=1, le=65535)


PRIVATE_CIDRS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


class EgressConfig(_Strict):
    # direct: HTTPS to the internet (not to exceptCIDRs); proxy: only to the
    # proxy or in-cluster mirror; none: air-gapped (weights already cached).
    hub: Literal["direct", "proxy", "none"] = "direct"
    except_cidrs: list[Cidr] = Field(default_factory=lambda: list(PRIVATE_CIDRS))
    proxy: HubProxyConfig | None = None


class NetworkPolicyConfig(_Strict):
    enabled: bool = True
    allow_from: list[PeerConfig] = Field(default_factory=list)
    monitoring_namespace: DnsLabel | None = "monitoring"
    egress: EgressConfig = Field(default_factory=EgressConfig)


Platform = Literal["xeon", "gaudi", "gaudi3"]
DEFAULT_HF_ENDPOINT = "https://huggingface.co"


class StackConfig(_Strict):
    """Everything under the `kserve-intel:` config namespace."""

    platform: Platform
    kserve: KServeConfig = Field(default_factory=KServeConfig)
    runtimes: RuntimesConfig = Field(default_factory=RuntimesConfig)
    namespace: DnsLabel = "intel-inference"
    models: list[ModelConfig] = Field(default_factory=list)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    local_model_cache: LocalModelCacheConfig = Field(default_factory=LocalModelCacheConfig)
    hf_token: SecretStr | None = None
    validate_token: bool = True
    hf_endpoint: Url = DEFAULT_HF_ENDPOINT
    ingress: IngressConfig = Field(default_factory=IngressConfig)
    apisix: ApisixConfig = Field(default_factory=ApisixConfig)
    gateway_api: GatewayApiConfig = Field(default_factory=GatewayApiConfig)
    genai_gateway: GenaiGatewayConfig = Field(default_factory=GenaiGatewayConfig)
    network_policy: NetworkPolicyConfig = Field(default_factory=NetworkPolicyConfig)
    # Release name -> Helm repository or OCI registry serving its chart (air-gapped mirrors); see charts.py.
    chart_repositories: dict[str, str] = Field(default_factory=dict)
    # The MLflow server models[].source names (kserve_intel/registry.py).
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    # Which pinned server runs the models (serving_stacks.py); None: the platform's newest.
    serving_stack: str | None = Field(default=None, min_length=1, max_length=63)
    # The server family every model runs unless it picks its own: vllm (default), tgi, ovms or a
    # runtimes.custom name; servingStack pins the version within it.
    backend: str | None = Field(default=None, min_length=1, max_length=63)
    # The Gaudi software release the nodes' driver runs, e.g. "1.22" or "1.24.1".
    gaudi_software: str | None = Field(default=None, pattern=r"^1\.[0-9]{1,3}(\.[0-9]{1,3})?$")
    # How long `pulumi up` waits for each model to be Ready; None: the platform's startup window + image pull.
    ready_timeout_minutes: int | None = Field(default=None, ge=1, le=MAX_READY_TIMEOUT_MINUTES)
    # How long `pulumi destroy` (or removing a model) waits for an InferenceService to be gone (its
    # finalizer needs the KServe controller); then it fails and says what is stuck instead of hanging.
    delete_timeout_minutes: int = Field(default=DEFAULT_DELETE_TIMEOUT_MINUTES, ge=1, le=MAX_DELETE_TIMEOUT_MINUTES)

    @field_validator("models", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"id": item} if isinstance(item, str) else item for item in value]
        return value


# Keys whose values must never be echoed in messages.
SECRET_KEYS = frozenset({"hfToken"})
# Nested fields whose values must never be echoed either.
SECRET_FIELDS = frozenset({"clientSecret"}) | REGISTRY_SECRET_FIELDS
# Namespaces models must not share: KServe does not mutate pods in its own
# control-plane namespace, and system namespaces are not for workloads.
RESERVED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "cert-manager", "default"})


# --- loading -----------------------------------------------------------------


def parse_raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Strip the `kserve-intel:` prefix and decode structured values.

    Pulumi passes structured config (objects, lists) as JSON text and scalars
    as plain strings; other namespaces (`kubernetes:context`...) are not ours.
    """
    prefix = CONFIG_NAMESPACE + ":"
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if isinstance(value, str) and value.strip()[:1] in ("{", "["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        data[name] = value
    return data


def load_config(raw: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> StackConfig:
    """Validate raw Pulumi config; raise `ConfigError` listing every problem."""
    data = parse_raw(raw)
    try:
        config = StackConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_issues_from(error)) from None
    issues = list(_cross_checks(config, set(secret_keys)))
    if issues:
        raise ConfigError(issues)
    return config


def _cross_checks(config: StackConfig, secret_keys: set[str]) -> Iterable[ConfigIssue]:
    """Rules that involve more than one key."""
    kserve = config.kserve
    yield from repository_issues(config.chart_repositories)
    if config.namespace == kserve.namespace:
        yield ConfigIssue(
            "namespace", f"models must not live in the KServe control-plane namespace "
            f"(kserve.namespace); choose another namespace, e.g. intel-inference", config.namespace,
        )
    elif config.namespace in RESERVED_NAMESPACES:
        yield ConfigIssue(
            "namespace", "is a system namespace; choose a dedicated one, e.g. intel-inference", config.namespace,
        )
    if not kserve.install:
        for key in ("cert_manager", "cert_manager_version"):
            if kserve.explicitly_set(key):
                yield ConfigIssue(
                    f"kserve.{to_camel(key)}", "has no effect when kserve.install is false; remove it",
                    getattr(kserve, key),
                )
    elif kserve.cert_manager == "existing" and kserve.explicitly_set("cert_manager_version"):
        yield ConfigIssue(
            "kserve.certManagerVersion", "has no effect when kserve.certManager is 'existing'; remove it",
            kserve.cert_manager_version,
        )
    runtimes = config.runtimes
    if not runtimes.configure_intel:
        for key in ("image", "node_selector", "accelerators_per_node", "custom"):
            if runtimes.explicitly_set(key):
                yield ConfigIssue(
                    f"runtimes.{to_camel(key)}", "has no effect when runtimes.configureIntel is false "
                    "(the runtimes are managed elsewhere); remove it",
                    [c.name for c in runtimes.custom] if key == "custom" else getattr(runtimes, key),
                )
    storage = config.storage
    if not storage.enabled:
        for key in ("storage_class", "access_mode", "retain_on_destroy"):
            if storage.explicitly_set(key):
                yield ConfigIssue(
                    f"storage.{to_camel(key)}", "has no effect when storage.enabled is false "
                    "(the cache is an emptyDir); remove it", getattr(storage, key),
                )
    from .scaling import scaling_checks  # imports this module's types; no cycle at import time

    yield from scaling_checks(config)
    from .local_cache import local_cache_checks  # same: imports this module's types

    yield from local_cache_checks(config)
    from .serving_stacks import serving_stack_checks  # same: imports this module's types

    yield from custom_checks(config)
    yield from serving_stack_checks(config)
    yield from _monitoring_checks(config.monitoring)
    yield from _traffic_checks(config, {k.split(":", 1)[-1] for k in secret_keys})
    yield from registry_checks(config, {k.split(":", 1)[-1] for k in secret_keys})
    yield from lora_rules(config)
    if config.hf_token is not None and "hfToken" not in {k.split(":", 1)[-1] for k in secret_keys}:
        yield ConfigIssue(
            "hfToken", "must be stored encrypted: run `pulumi config set --secret kserve-intel:hfToken <token>`",
        )


def _monitoring_checks(monitoring: MonitoringConfig) -> Iterable[ConfigIssue]:
    if not monitoring.enabled:
        yield from _unused(monitoring, "monitoring", "unless monitoring.enabled is true")
        return
    if not monitoring.prometheus_selector:
        yield ConfigIssue(
            "monitoring.prometheusSelector", "must name at least one label: the cluster's Prometheus selects "
            "PodMonitors and PrometheusRules by it (kube-prometheus-stack: release: <its release name>)", {},
        )
    if duration_seconds(monitoring.scrape_timeout) > duration_seconds(monitoring.interval):
        yield ConfigIssue(
            "monitoring.scrapeTimeout", f"must not exceed monitoring.interval ({monitoring.interval})",
            monitoring.scrape_timeout,
        )
    alerts = monitoring.alerts
    if not alerts.enabled:
        yield from _unused(alerts, "monitoring.alerts", "unless monitoring.alerts.enabled is true")
    dashboard = monitoring.grafana_dashboard
    unused = {"configmap": ("instance_selector",), "operator": ("sidecar_label",)}[dashboard.mode]
    if not dashboard.enabled:
        unused = tuple(n for n in GrafanaDashboardConfig.model_fields if n != "enabled")
    for name in unused:
        if dashboard.explicitly_set(name):
            reason = ("monitoring.grafanaDashboard.enabled is false" if not dashboard.enabled
                      else f"monitoring.grafanaDashboard.mode is {dashboard.mode!r}")
            yield ConfigIssue(
                f"monitoring.grafanaDashboard.{to_camel(name)}", f"has no effect when {reason}; remove it",
                getattr(dashboard, name),
            )
    if dashboard.enabled:
        selector = dashboard.instance_selector if dashboard.mode == "operator" else dashboard.sidecar_label
        if not selector:
            key = "instanceSelector" if dashboard.mode == "operator" else "sidecarLabel"
            yield ConfigIssue(
                f"monitoring.grafanaDashboard.{key}", "must name at least one label, or Grafana never loads "
                "the dashboard", {},
            )


def _unused(section: _Strict, path: str, reason: str, keep: tuple[str, ...] = ("enabled",)) -> Iterable[ConfigIssue]:
    """Every explicitly set key of a section that has no effect, one issue each."""
    for key in sorted(section.model_fields_set):
        if key not in keep:
            value = getattr(section, key)
            if isinstance(value, BaseModel):
                value = value.model_dump(by_alias=True, exclude_unset=True)
            alias = type(section).model_fields[key].alias or to_camel(key)
            yield ConfigIssue(f"{path}.{alias}", f"has no effect {reason}; remove it", value)


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


def _traffic_checks(config: StackConfig, secret_keys: set[str]) -> Iterable[ConfigIssue]:
    """Ingress, APISIX, Gateway API, GenAI gateway, network policy and token validation."""
    from .versions import release

    ingress = config.ingress
    if not ingress.enabled:
        yield from _unused(ingress, "ingress", "unless ingress.enabled is true")
    elif ingress.routing == "host" and (not ingress.host or ingress.host.startswith("*.")):
        yield ConfigIssue(
            "ingress.host", "routing 'host' serves each model at <model>.<host>, so host must be a domain "
            "such as llm.example.com (no wildcard)", ingress.host,
        )

    apisix = config.apisix
    if not apisix.enabled:
        yield from _unused(apisix, "apisix", "unless apisix.enabled is true")
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
            yield from _unused(apisix.rate_limit, "apisix.rateLimit", "unless apisix.rateLimit.enabled is true")

    gateway = config.gateway_api
    if not gateway.enabled:
        yield from _unused(gateway, "gatewayApi", "unless gatewayApi.enabled is true")
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
        yield from _unused(genai, "genaiGateway", "unless genaiGateway.enabled is true")

    policy = config.network_policy
    if not policy.enabled:
        yield from _unused(policy, "networkPolicy", "when networkPolicy.enabled is false")
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

    if config.hf_token is None and config.explicitly_set("validate_token"):
        yield ConfigIssue(
            "validateToken", "has no effect without hfToken (there is no token to validate); remove it",
            config.validate_token,
        )


# --- turning pydantic errors into key paths ---------------------------------


def _issues_from(error: ValidationError) -> list[ConfigIssue]:
    issues = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path = _path(loc)
        kind = item["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            message = "unknown key; allowed keys: " + ", ".join(allowed)
        elif kind == "missing":
            issues.append(ConfigIssue(path, "is required" + _choices_hint(loc)))
            continue
        else:
            message = item["msg"]
            if message.startswith("Value error, "):
                message = message[len("Value error, "):]
        secret = loc and (loc[0] in SECRET_KEYS or SECRET_FIELDS.intersection(map(str, loc)))
        value = "[secret]" if secret else item.get("input")
        issues.append(ConfigIssue(path, message, value))
    return issues


def _path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _field_type(model: type[BaseModel], alias: str) -> Any:
    for name, info in model.model_fields.items():
        if (info.alias or name) == alias:
            return info.annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/list/Annotated to the model class a path steps into."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (list, Union) or str(origin) == "<class 'types.UnionType'>":
            candidates = [a for a in get_args(annotation) if a is not type(None)]
            models = [a for a in candidates if isinstance(a, type) and issubclass(a, BaseModel)]
            annotation = models[0] if models else candidates[0]
        else:
            return annotation


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model: Any = StackConfig
    for part in loc:
        if isinstance(part, int):
            continue
        model = _unwrap(_field_type(model, part))
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _choices_hint(loc: tuple[Any, ...]) -> str:
    if loc == ("platform",):
        return "; allowed: " + ", ".join(get_args(Platform))
    return ""
