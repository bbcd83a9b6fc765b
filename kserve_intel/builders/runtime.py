"""The Intel ClusterServingRuntimes: one per serving stack in use on the stack's platform."""

from __future__ import annotations

from typing import Any

from .. import naming
from ..catalog.platforms import SERVING_PORT
from ..plan import STARTUP_PROBE_PERIOD_SECONDS, ModelClock, RuntimePlan, StackPlan, model_clock, served_by
from . import multinode
from .pod import CONTAINER_NAME, env_list
from .security import container_security_context


def _probe(period: int, failures: int, timeout: int = 5, path: str = "/health", port: int = SERVING_PORT) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def startup_probe(clock: ModelClock, path: str = "/health", port: int = SERVING_PORT) -> dict[str, Any]:
    """A startup probe whose window is the model's load window (plan.model_clock): weight download, loading and
    Gaudi warm-up; liveness and readiness only take over once it has passed."""
    return _probe(period=STARTUP_PROBE_PERIOD_SECONDS, failures=clock.startup_probe_failures, path=path, port=port)


def cluster_serving_runtime(plan: StackPlan, runtime: RuntimePlan | None = None) -> dict[str, Any]:
    runtime = runtime or plan.primary_runtime
    profile, image, stack = runtime.profile, runtime.image, runtime.stack
    probe = {"path": stack.health_path, "port": stack.port}
    tag = image.rsplit("@", 1)[0].rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else None
    spec: dict[str, Any] = {
        "supportedModelFormats": [{"name": runtime.model_format, "version": "1", "autoSelect": True}],
        "protocolVersions": ["v1"],
        "containers": [
            {
                "name": CONTAINER_NAME,
                "image": image,
                "imagePullPolicy": "Always",
                "command": list(profile.command),
                "args": [*profile.args, *stack.listen_args],
                "env": env_list(profile.env),
                "ports": [{"name": "http1", "containerPort": stack.port, "protocol": "TCP"}],
                # The stack-wide window; each InferenceService overrides it with its model's (builders/model.py).
                "startupProbe": startup_probe(model_clock(plan), **probe),
                "readinessProbe": _probe(period=10, failures=3, **probe),
                "livenessProbe": _probe(period=30, failures=5, timeout=10, **probe),
                "securityContext": container_security_context(profile.capabilities),
                "volumeMounts": [
                    {"name": "dshm", "mountPath": "/dev/shm"},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            }
        ],
        "volumes": [
            # vLLM's workers exchange tensors through shared memory.
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": profile.shm_size}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "10Gi"}},
        ],
        "nodeSelector": dict(plan.node_selector),
    }
    container = spec["containers"][0]
    if not container["command"]:
        del container["command"]  # the image's ENTRYPOINT runs (OVMS: a wrapper that execs ovms "$@")
    if not container["args"]:
        del container["args"]
    if profile.tolerations:
        spec["tolerations"] = [dict(t) for t in profile.tolerations]
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterServingRuntime",
        "metadata": {
            "name": runtime.name,
            "labels": {**naming.labels(runtime.name, "serving-runtime", tag),
                       naming.SERVING_STACK_LABEL: runtime.stack.name},
            # Note: no `serving.kserve.io/server-type` annotation, on purpose
            # (KServe v0.20 would rewrite the image tag for a known server type).
        },
        "spec": spec,
    }


def runtime_objects(plan: StackPlan) -> list[dict[str, Any]]:
    """Every ClusterServingRuntime the stack creates: for each serving stack in use, the single-node
    runtime when a single-node model runs it (or, for the stack-wide stack, when there are no
    models), and its multi-node variant when a multi-node model does. Nothing no model uses."""
    objects = []
    for runtime in plan.runtimes:
        users = [m for m in plan.models if m.runtime is not None and m.runtime.name == runtime.name]
        if not users or any(not m.multinode for m in users):
            objects.append(cluster_serving_runtime(plan, runtime))
        if any(m.multinode for m in users):
            objects.append(multinode.cluster_serving_runtime(plan, runtime))
    return objects


def runtime_summary(plan: StackPlan) -> list[dict[str, Any]]:
    """The `runtimes` stack output: each runtime created, its serving stack, image and models."""
    return [
        {"name": obj["metadata"]["name"], "servingStack": obj["metadata"]["labels"][naming.SERVING_STACK_LABEL],
         "image": obj["spec"]["containers"][0]["image"],
         "models": [m.name for m in plan.models if served_by(plan, m) == obj["metadata"]["name"]]}
        for obj in runtime_objects(plan)
    ]
