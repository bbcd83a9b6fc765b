"""Your own serving runtimes (`runtimes.custom[]`): the rules across keys, and each one as a serving stack.

The config model is config/runtimes.py; a custom runtime becomes a `ServingStack` (`custom_stack`), so the
same code path as the built-in stacks gives it its ClusterServingRuntime.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterable

from ..catalog.platforms import SERVER_ENV
from ..catalog.serving_stacks import BUILT_IN_BACKENDS, STACKS, ServingStack
from ..config.runtimes import RESERVED_PORTS, CustomRuntimeConfig
from ..config.stack import StackConfig
from ..errors import ConfigIssue


def custom_checks(config: StackConfig) -> Iterable[ConfigIssue]:
    """Rules across keys: names, ports, where a custom runtime runs."""
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


def custom_stacks(config: StackConfig) -> dict[str, ServingStack]:
    return {c.name: custom_stack(c, j) for j, c in enumerate(config.runtimes.custom)}


def custom_stack(custom: CustomRuntimeConfig, index: int) -> ServingStack:
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
        env=MappingProxyType({**SERVER_ENV, **custom.env}),
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
