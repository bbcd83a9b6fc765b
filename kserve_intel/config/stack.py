"""The root of the stack configuration: everything under the `kserve-intel:` config namespace.

Each section has its own module beside this one; cross-key rules live in rules/, and load.py turns raw
Pulumi config into a `StackConfig` or one `ConfigError`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from .autoscaling import AutoscalingConfig
from .kserve import KServeConfig
from .local_model_cache import LocalModelCacheConfig
from .model import DEFAULT_DELETE_TIMEOUT_MINUTES, MAX_DELETE_TIMEOUT_MINUTES, MAX_READY_TIMEOUT_MINUTES, ModelConfig
from .monitoring import MonitoringConfig
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
    # Release name -> Helm repository or OCI registry serving its chart (air-gapped mirrors); see catalog/charts.py.
    chart_repositories: dict[str, str] = Field(default_factory=dict)
    # The MLflow server models[].source names (rules/registry.py).
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    # Which pinned server runs the models (catalog/serving_stacks.py); None: the platform's newest.
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
