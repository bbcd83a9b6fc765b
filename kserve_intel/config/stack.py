"""The root of the stack configuration: everything under the `kserve-intel:` config namespace.

Each section has its own module beside this one; cross-key rules live in rules/, and load.py turns raw
Pulumi config into a `StackConfig` or one `ConfigError`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from .autoscaling import AutoscalingConfig
from .images import SECRET_FIELDS as IMAGES_SECRET_FIELDS, ImagesConfig
from .kserve import KServeConfig
from .local_model_cache import LocalModelCacheConfig
from .model import DEFAULT_DELETE_TIMEOUT_MINUTES, MAX_DELETE_TIMEOUT_MINUTES, MAX_READY_TIMEOUT_MINUTES, ModelConfig
from .monitoring import MonitoringConfig
from .ownership import AdoptEntry, OwnershipConfig
from .registry import SECRET_FIELDS as REGISTRY_SECRET_FIELDS, RegistryConfig
from .runtimes import RuntimesConfig
from .storage import StorageConfig
from .traffic import ApisixConfig, GatewayApiConfig, GenaiGatewayConfig, IngressConfig, NetworkPolicyConfig
from .values import DnsLabel, Strict, Url


Platform = Literal["xeon", "gaudi", "gaudi3"]


DEFAULT_HF_ENDPOINT = "https://huggingface.co"


class StackConfig(Strict):
    """Everything under the `kserve-intel:` config namespace."""

    platform: Platform
    """`xeon`, `gaudi` (Gaudi2) or `gaudi3`: selects the platform profile."""
    kserve: KServeConfig = Field(default_factory=KServeConfig)
    """KServe and what it needs: whether the stack installs it, its release, namespace, deployment mode, Knative and
    cert-manager.
    """
    runtimes: RuntimesConfig = Field(default_factory=RuntimesConfig)
    """The ClusterServingRuntimes the stack creates: Intel's runtimes per serving stack in use, their image and node
    selection, and your own runtimes (`custom`).
    """
    namespace: DnsLabel = "intel-inference"
    """Namespace for the models, created by the stack. Not `kserve.namespace` nor a system namespace."""
    models: list[ModelConfig] = Field(default_factory=list)
    """List of models: a Hugging Face id string, or an object with the keys below."""
    storage: StorageConfig = Field(default_factory=StorageConfig)
    """The per-model Hugging Face cache (a PersistentVolumeClaim, or an emptyDir)."""
    autoscaling: AutoscalingConfig = Field(default_factory=AutoscalingConfig)
    """Replicas per model: off (one replica), or HPA, KEDA or Knative between min and max."""
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    """Prometheus Operator objects for the models: a PodMonitor, a PrometheusRule and a Grafana dashboard."""
    local_model_cache: LocalModelCacheConfig = Field(default_factory=LocalModelCacheConfig)
    """KServe's local model cache (v0.15+): weights on the local disks of a node group."""
    hf_token: SecretStr | None = None
    """Hugging Face token, **secret** (`pulumi config set --secret kserve-intel:hfToken hf_...`; a plaintext value is
    refused). Required when a listed model is gated. Stored in the Secret `hf-token` of the model namespace and
    given to vLLM as `HF_TOKEN` through `secretKeyRef`; never in args, annotations or outputs.
    """
    validate_token: bool = True
    """During `pulumi up` (never `preview`), check that `hfToken` is valid and can read every gated model before
    deploying; see [Hugging Face token check](traffic.md#hugging-face-token-check). `false` for air-gapped clusters:
    it also stops the `preview`/`up` read of config.json for models the catalogue lacks ([capacity.md](capacity.md)).
    Only with `hfToken`.
    """
    hf_endpoint: Url = DEFAULT_HF_ENDPOINT
    """Hub the token check and the model-shape reads (config.json of models the catalogue lacks) ask; any other value
    (a mirror) is given as `HF_ENDPOINT` to every downloader: vLLM, the multi-node weights Job, the local-cache
    download jobs and (KServe v0.20+) the storage initializer. The network policy opens it on its own address and
    port, see [Endpoints the pods reach](traffic.md#endpoints-the-model-pods-reach).
    """
    ingress: IngressConfig = Field(default_factory=IngressConfig)
    """One Kubernetes Ingress per model."""
    apisix: ApisixConfig = Field(default_factory=ApisixConfig)
    """One ApisixRoute per model, with Keycloak authentication and a rate limit."""
    gateway_api: GatewayApiConfig = Field(default_factory=GatewayApiConfig)
    """Gateway API HTTPRoutes to each model (RawDeployment/Standard only)."""
    genai_gateway: GenaiGatewayConfig = Field(default_factory=GenaiGatewayConfig)
    """Publish the model list for a LiteLLM-based GenAI gateway."""
    network_policy: NetworkPolicyConfig = Field(default_factory=NetworkPolicyConfig)
    """The NetworkPolicy `kserve-intel-vllm` on every model pod."""
    chart_repositories: dict[str, str] = Field(default_factory=dict)
    """Air-gapped installs: `{<release>: <url>}`, the Helm repository (`http(s)://`) or OCI registry path (`oci://`)
    that serves that release's chart at the same version. Releases: `cert-manager`, `kserve-crd`,
    `kserve`/`kserve-resources`, `kserve-localmodel-crd`, `kserve-localmodel-resources`, `knative-operator`, `keda`;
    only those this stack installs. See [Running it for real, offline](air-gapped.md).
    """
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    """The MLflow tracking server that `source` keys name, its credentials and the store behind it."""
    images: ImagesConfig = Field(default_factory=ImagesConfig)
    """Every image the stack runs: resolved to its digest at `preview`/`up`, registry mirrors, pull credentials.
    See [air-gapped.md](air-gapped.md) and `make images`.
    """
    serving_stack: str | None = Field(default=None, min_length=1, max_length=63)
    """The pinned server every model runs unless it picks its own: Xeon `vllm-0.33` or `vllm-0.10`; Gaudi
    `vllm-gaudi-0.26` or `vllm-fork-1.22`. See [docs/serving-stacks.md](serving-stacks.md). Default: the platform's
    newest.
    """
    backend: str | None = Field(default=None, min_length=1, max_length=63)
    """Server family of every model: `vllm`, `tgi`, `ovms` (Xeon) or a `runtimes.custom` name. See
    [docs/backends.md](backends.md). Default: `vllm`.
    """
    gaudi_software: str | None = Field(default=None, pattern=r"^1\.[0-9]{1,3}(\.[0-9]{1,3})?$")
    """Gaudi software release of the nodes' driver (`1.22`, `1.24.1`): picks the matching default stack; a stack it
    contradicts is refused (its pods would fail on those nodes).
    """
    ready_timeout_minutes: int | None = Field(default=None, ge=1, le=MAX_READY_TIMEOUT_MINUTES)
    """Default of `models[].readyTimeoutMinutes` (1-1440), which every deadline of a model follows (startup probe,
    weights Job, Knative progress deadline). See [one clock](troubleshooting.md#one-clock-for-every-wait-of-a-model).
    Default: platform startup window + 30 (Xeon 90, Gaudi 120).
    """
    adopt: list[AdoptEntry] = Field(default_factory=list, max_length=100)
    """Objects this stack creates that already exist on the cluster and that it may take over anyway, as `Kind/name`
    or `Kind/namespace/name` (`Namespace/monitoring`, `ClusterServingRuntime/intel-vllm-gaudi`). Each must be an
    object of this stack (not a Helm release: use `kserve.install`/`certManager` `existing`). An adopted object is
    stamped and updated like the others, and never deleted: `destroy` leaves it on the cluster.
    """
    ownership: OwnershipConfig = Field(default_factory=OwnershipConfig)
    """The ownership look before any resource (`check: enforce` or `off`)."""
    delete_timeout_minutes: int = Field(default=DEFAULT_DELETE_TIMEOUT_MINUTES, ge=1, le=MAX_DELETE_TIMEOUT_MINUTES)
    """How long `destroy` (or removing a model) waits for an InferenceService to go (1-120): its finalizer needs the
    KServe controller. Then it fails and names what is stuck instead of hanging.
    """

    @field_validator("models", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"id": item} if isinstance(item, str) else item for item in value]
        return value


# Keys whose values must never be echoed in messages.
SECRET_KEYS = frozenset({"hfToken"})


# Nested fields whose values must never be echoed either.
SECRET_FIELDS = frozenset({"clientSecret"}) | REGISTRY_SECRET_FIELDS | IMAGES_SECRET_FIELDS


# Namespaces models must not share: KServe does not mutate pods in its own
# control-plane namespace, and system namespaces are not for workloads.
RESERVED_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease", "cert-manager", "default"})
