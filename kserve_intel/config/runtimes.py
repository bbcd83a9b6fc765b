"""`runtimes`: the Intel ClusterServingRuntimes, and your own serving containers (`runtimes.custom[]`).

A custom runtime becomes a serving stack like the built-in ones (rules/custom_runtimes.py), so the same code
path gives it a ClusterServingRuntime with our security context, probes, volumes and node placement, and
models select it by name (`models[].backend: <name>`). The container learns its model from environment
variables the program sets per model (Kubernetes expands `$(MODEL_ID)` in args):

    MODEL_ID, SERVED_MODEL_NAME, MAX_MODEL_LEN, TENSOR_PARALLEL_SIZE, MODEL_REVISION (when pinned).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .reserved import check_env
from .values import Image, LabelMap, Quantity, Strict, check_image


class ResourcesConfig(Strict):
    requests: dict[str, Quantity] = Field(default_factory=dict)
    limits: dict[str, Quantity] = Field(default_factory=dict)


# What the program sets on every custom container per model (not in the runtime's env).
MODEL_ENV = ("MODEL_ID", "SERVED_MODEL_NAME", "MAX_MODEL_LEN", "TENSOR_PARALLEL_SIZE", "MODEL_REVISION")


# Ports a predictor pod cannot use: Knative's queue-proxy (8012, 8013, 8022, 9090, 9091) and KServe's
# agent (9081) share the pod in Serverless mode or with a logger/batcher.
RESERVED_PORTS = {8012: "Knative queue-proxy", 8013: "Knative queue-proxy", 8022: "Knative queue-proxy admin",
                  9090: "Knative autoscaler metrics", 9091: "Knative user metrics", 9081: "KServe agent"}


# Keys a platform engineer might reach for that would weaken the pod: the program owns them.
_PRIVILEGED_KEYS = ("securityContext", "privileged", "capabilities", "runAsUser", "runAsGroup", "runAsNonRoot",
                    "allowPrivilegeEscalation", "hostNetwork", "hostPID", "hostIPC", "hostPath", "volumes",
                    "volumeMounts")


_PATH = r"^/[A-Za-z0-9._~/-]*$"


class CustomRuntimeConfig(Strict):
    """One serving container of your own (runtimes.custom[])."""

    name: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,28}[a-z0-9])?$")
    image: str = Field(min_length=3, max_length=512)
    command: list[str] = Field(default_factory=list)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    port: int = Field(default=8080, ge=1024, le=65535)
    health_path: str = Field(pattern=_PATH, max_length=256)
    openai_base_path: str = Field(default="/v1", pattern=_PATH, max_length=256)
    # Prometheus metrics on the serving port; None: the server exports none (not scraped).
    metrics_path: str | None = Field(default=None, pattern=_PATH, max_length=256)
    platforms: list[Literal["xeon", "gaudi", "gaudi3"]] = Field(min_length=1)
    # Per-model defaults, merged key by key over the platform's (models[].resources win).
    resources: ResourcesConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_privileged_settings(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in _PRIVILEGED_KEYS:
                if key in value:
                    raise ValueError(
                        f"{key} cannot be set: the program gives every runtime its security context (non-root, "
                        "no privilege escalation, all capabilities dropped, read-only root) and its volumes "
                        "(/data model cache, /tmp, /dev/shm)")
        return value

    @field_validator("image")
    @classmethod
    def _pinned(cls, value: str) -> str:
        return check_image(value)  # one rule for every image reference

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key in MODEL_ENV:
                raise ValueError(f"{key} is set per model by the program")
        return check_env(value)  # the models' rule: valid names, none the program manages


class RuntimesConfig(Strict):
    """The Intel ClusterServingRuntimes."""

    configure_intel: bool = True
    image: Image | None = None
    node_selector: LabelMap | None = None
    accelerators_per_node: int | None = Field(default=None, ge=1, le=64)
    # Serving containers of your own (rules/custom_runtimes.py); models pick one by `backend`.
    custom: list[CustomRuntimeConfig] = Field(default_factory=list, max_length=16)
