"""Your own serving runtime (`runtimes.custom[]`): a serving container described in config.

It becomes a serving stack like the built-in ones (serving_stacks.py), so the same code path gives it
a ClusterServingRuntime with our security context, probes, volumes and node placement, and models
select it by name (`models[].backend: <name>`). The container learns its model from environment
variables the program sets per model (Kubernetes expands `$(MODEL_ID)` in args):

    MODEL_ID, SERVED_MODEL_NAME, MAX_MODEL_LEN, TENSOR_PARALLEL_SIZE, MODEL_REVISION (when pinned).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Iterable, Literal

from pydantic import Field, field_validator, model_validator

from .errors import ConfigIssue
from .platforms import COMMON_ENV
from .strict import Strict

if TYPE_CHECKING:  # pragma: no cover
    from .config import StackConfig
    from .serving_stacks import ServingStack

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
    # Per-model defaults, merged key by key over the platform's (models[].resources win); the type is
    # config.ResourcesConfig (Kubernetes quantities), bound by config.py's model_rebuild.
    resources: "ResourcesConfig | None" = None

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
        from .config import _image  # one rule for every image reference

        return _image(value)

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        from .config import _check_env  # the models' rule: valid names, none the program manages

        for key in value:
            if key in MODEL_ENV:
                raise ValueError(f"{key} is set per model by the program")
        return _check_env(value)


def custom_checks(config: "StackConfig") -> Iterable[ConfigIssue]:
    """Rules across keys: names, ports, where a custom runtime runs."""
    from .serving_stacks import BUILT_IN_BACKENDS, STACKS

    seen: set[str] = set()
    for j, custom in enumerate(config.runtimes.custom):
        key = f"runtimes.custom[{j}]"
        if custom.name in BUILT_IN_BACKENDS or custom.name in STACKS:
            yield ConfigIssue(f"{key}.name", "is a built-in backend or serving stack; choose another name",
                              custom.name)
        if custom.name in seen:
            yield ConfigIssue(f"{key}.name", "is used by another custom runtime", custom.name)
        seen.add(custom.name)
        if custom.port in RESERVED_PORTS:
            yield ConfigIssue(f"{key}.port", f"is used by the {RESERVED_PORTS[custom.port]} in the predictor pod; "
                              "choose another port (1024-65535)", custom.port)
        if config.platform == "xeon" and custom.resources is not None:
            r = custom.resources
            if r.requests.get("cpu") != r.limits.get("cpu") or r.requests.get("memory") != r.limits.get("memory"):
                yield ConfigIssue(f"{key}.resources", "on Xeon, requests and limits of cpu and memory must be equal "
                                  "(Guaranteed QoS, pinned cores)", {"requests": r.requests, "limits": r.limits})
    used = {m.backend for m in config.models} | {config.backend}
    for j, custom in enumerate(config.runtimes.custom):
        if custom.name not in used:
            yield ConfigIssue(f"runtimes.custom[{j}]", "is used by no model (set models[].backend or backend to "
                              "its name); remove it, only runtimes a model uses are created", custom.name)


def custom_stacks(config: "StackConfig") -> dict[str, "ServingStack"]:
    return {c.name: custom_stack(c, j) for j, c in enumerate(config.runtimes.custom)}


def custom_stack(custom: CustomRuntimeConfig, index: int) -> "ServingStack":
    from .serving_stacks import ServingStack

    return ServingStack(
        name=custom.name,
        backend="custom",
        version=custom.image.rsplit(":", 1)[-1] if ":" in custom.image.rsplit("/", 1)[-1] else "",
        platforms=tuple(custom.platforms),
        gaudi_software=None,
        image=custom.image,
        command=tuple(custom.command),
        model_positional=False,
        args=tuple(custom.args),
        env=MappingProxyType({**COMMON_ENV, **custom.env}),
        rejected_args=MappingProxyType({}),
        rejected_env=MappingProxyType({}),
        openai_path=custom.openai_base_path,
        health_path=custom.health_path,
        metrics_path=custom.metrics_path,
        port=custom.port,
        listen_args=(),
        format_prefix=custom.name,
        custom_index=index,
        description=f"runtimes.custom[{index}] {custom.name}",
    )


def model_env(model_id: str, served: str, max_len: int, tp: int, revision: str | None) -> dict[str, str]:
    """What a custom container learns about its model (its args may say `$(MODEL_ID)`)."""
    env = {"MODEL_ID": model_id, "SERVED_MODEL_NAME": served, "MAX_MODEL_LEN": str(max_len),
           "TENSOR_PARALLEL_SIZE": str(tp)}
    if revision:
        env["MODEL_REVISION"] = revision
    return env


def custom_resources(custom: CustomRuntimeConfig | None, resources: dict[str, dict[str, str]]) -> None:
    """Merge a custom runtime's per-model defaults over the platform's, in place."""
    if custom is None or custom.resources is None:
        return
    resources["requests"].update(custom.resources.requests)
    resources["limits"].update(custom.resources.limits)


