"""The Intel vLLM ClusterServingRuntime for the stack's platform."""

from __future__ import annotations

from typing import Any

from .. import naming
from ..platforms import SERVING_PORT
from ..plan import StackPlan
from .security import container_security_context

CONTAINER_NAME = "kserve-container"  # KServe merges the predictor into this name


def _probe(period: int, failures: int, timeout: int = 5) -> dict[str, Any]:
    return {
        "httpGet": {"path": "/health", "port": SERVING_PORT},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def env_list(env: dict[str, str] | Any) -> list[dict[str, str]]:
    return [{"name": key, "value": value} for key, value in sorted(env.items())]


def cluster_serving_runtime(plan: StackPlan) -> dict[str, Any]:
    profile = plan.profile
    tag = plan.image.rsplit("@", 1)[0].rsplit(":", 1)[-1] if ":" in plan.image.rsplit("/", 1)[-1] else None
    # A startup probe sized for weight download, loading and Gaudi warm-up;
    # liveness and readiness only take over once it has passed.
    startup_failures = profile.startup_minutes * 60 // 30
    spec: dict[str, Any] = {
        "supportedModelFormats": [{"name": profile.model_format, "version": "1", "autoSelect": True}],
        "protocolVersions": ["v1"],
        "containers": [
            {
                "name": CONTAINER_NAME,
                "image": plan.image,
                "imagePullPolicy": "Always",
                "command": list(profile.command),
                "args": [*profile.args, "--host", "0.0.0.0", "--port", str(SERVING_PORT)],
                "env": env_list(profile.env),
                "ports": [{"name": "http1", "containerPort": SERVING_PORT, "protocol": "TCP"}],
                "startupProbe": _probe(period=30, failures=startup_failures),
                "readinessProbe": _probe(period=10, failures=3),
                "livenessProbe": _probe(period=30, failures=5, timeout=10),
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
    if profile.tolerations:
        spec["tolerations"] = [dict(t) for t in profile.tolerations]
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterServingRuntime",
        "metadata": {
            "name": plan.runtime_name,
            "labels": {**naming.labels(plan.runtime_name, "serving-runtime", tag),
                       naming.SERVING_STACK_LABEL: plan.serving_stack.name},
            # Note: no `serving.kserve.io/server-type` annotation, on purpose
            # (KServe v0.20 would rewrite the image tag for a known server type).
        },
        "spec": spec,
    }
