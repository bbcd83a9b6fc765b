"""Models larger than one node: a Ray-based multi-node runtime, the weights
prefetch Job, and the InferenceService's `workerSpec` (KServe v0.15.x: rules/multinode.py says why not the
others).

KServe's multi-node predictor is a head Deployment `<model>-predictor` and a
worker Deployment `<model>-predictor-worker` (`nodes - 1` pods). The head starts
a Ray cluster, waits until every worker joined, then runs vLLM with the Ray
executor: tensor parallelism over the cards of each node, pipeline parallelism
across nodes (Intel's vLLM HPU fork supports this through Ray). KServe requires
the weights on a `pvc://` (or `oci://`) storageUri that head and workers mount,
so a Job first downloads them into the model's ReadWriteMany cache claim.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from .. import naming
from ..catalog.platforms import CACHE_MOUNT_PATH, SERVING_PORT, PlatformProfile
from ..plan import STARTUP_PROBE_PERIOD_SECONDS, ModelPlan, RuntimePlan, StackPlan, model_clock, model_runtime, served_by
from .mounted import serve_from_mount
from .images import pull_secret_refs
from .pod import CONTAINER_NAME, env_list, hub_env
from .security import container_security_context, pod_security_context

WORKER_CONTAINER = "worker-container"
RAY_PORT = 6379
MODELS_DIR = "models"  # inside the cache claim
# KServe mounts a pvc:// storageUri here (read-only) in the head and worker pods.

_HEAD_SCRIPT = """\
set -eu
ray start --head --port={port} --disable-usage-stats --include-dashboard=false
until [ "$(ray status 2>/dev/null | grep -c node_)" -ge "${{PIPELINE_PARALLEL_SIZE}}" ]; do
  echo "waiting for ${{PIPELINE_PARALLEL_SIZE}} Ray nodes"; sleep 5
done
exec {command} {args} "$@"
"""

# KServe names the head's headless Service `<isvc>-head-<generation>` and gives it to the worker as HEAD_SVC
# (v0.15+, as KServe's own multi-node runtime reads it); POD_NAMESPACE comes from the downward API (_env).
_WORKER_SCRIPT = """\
set -eu
HEAD="${{HEAD_SVC}}.${{POD_NAMESPACE}}.svc.cluster.local:{port}"
until ray health-check --address "$HEAD" >/dev/null 2>&1; do echo "waiting for the Ray head $HEAD"; sleep 5; done
exec ray start --address="$HEAD" --block
"""

_DOWNLOAD = (
    "import os; from huggingface_hub import snapshot_download; "
    "snapshot_download(repo_id=os.environ['MODEL_ID'], revision=os.environ.get('MODEL_REVISION') or None, "
    "local_dir=os.environ['TARGET_DIR'])"
)


def model_format(plan: StackPlan) -> str:
    return f"{plan.profile.model_format}-multinode"


def _env(profile: PlatformProfile) -> list[dict[str, Any]]:
    env = env_list({
        **profile.env,
        "RAY_PORT": str(RAY_PORT),
        # Ray and Gaudi's collectives talk over the pod network interface.
        "GLOO_SOCKET_IFNAME": "eth0",
        "HCCL_SOCKET_IFNAME": "eth0",
    })
    env.append({"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}})
    return env


def _probe(period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": "/health", "port": SERVING_PORT}, "periodSeconds": period,
            "timeoutSeconds": 5, "failureThreshold": failures}


def cluster_serving_runtime(plan: StackPlan, runtime: RuntimePlan | None = None) -> dict[str, Any]:
    """The Ray head/worker runtime of one serving stack on the stack's accelerator platform."""
    runtime = runtime or plan.primary_runtime
    profile = runtime.profile
    args = [*profile.args, "--host", "0.0.0.0", "--port", str(SERVING_PORT), "--distributed-executor-backend", "ray"]
    head_script = _HEAD_SCRIPT.format(port=RAY_PORT, command=shlex.join(profile.command), args=shlex.join(args))
    volumes_mounts = [{"name": "dshm", "mountPath": "/dev/shm"}, {"name": "tmp", "mountPath": "/tmp"}]
    volumes = [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": profile.shm_size}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "10Gi"}},
    ]
    security = container_security_context(profile.capabilities)
    startup_failures = model_clock(plan).startup_probe_failures
    spec: dict[str, Any] = {
        "supportedModelFormats": [{"name": model_format(plan), "version": "1", "autoSelect": True}],
        "protocolVersions": ["v1"],
        "containers": [{
            "name": CONTAINER_NAME,
            "image": plan.applied_image(runtime.image),
            "imagePullPolicy": "Always",
            "command": ["bash", "-c"],
            # "vllm" becomes $0; the InferenceService's args follow as "$@".
            "args": [head_script, "vllm"],
            "env": _env(profile),
            "ports": [{"name": "http1", "containerPort": SERVING_PORT, "protocol": "TCP"}],
            "startupProbe": _probe(STARTUP_PROBE_PERIOD_SECONDS, startup_failures),
            "readinessProbe": _probe(10, 3),
            "livenessProbe": {**_probe(30, 5), "timeoutSeconds": 10},
            "securityContext": security,
            "volumeMounts": volumes_mounts,
        }],
        "volumes": volumes,
        "nodeSelector": dict(plan.node_selector),
        "workerSpec": {
            "containers": [{
                "name": WORKER_CONTAINER,
                "image": plan.applied_image(runtime.image),
                "imagePullPolicy": "Always",
                "command": ["bash", "-c"],
                "args": [_WORKER_SCRIPT.format(port=RAY_PORT)],
                "env": _env(profile),
                "securityContext": security,
                "volumeMounts": volumes_mounts,
            }],
            "volumes": volumes,
            "nodeSelector": dict(plan.node_selector),
        },
    }
    if profile.tolerations:
        spec["tolerations"] = [dict(t) for t in profile.tolerations]
        spec["workerSpec"]["tolerations"] = [dict(t) for t in profile.tolerations]
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ClusterServingRuntime",
        "metadata": {"name": runtime.multinode_name,
                     "labels": {**naming.labels(runtime.multinode_name, "serving-runtime"),
                                naming.SERVING_STACK_LABEL: runtime.stack.name}},
        "spec": spec,
    }


def weights_dir(model: ModelPlan) -> str:
    return f"{MODELS_DIR}/{model.name}"


def storage_uri(model: ModelPlan) -> str:
    return f"pvc://{naming.cache_claim_name(model.name)}/{weights_dir(model)}"


def prefetch_job(plan: StackPlan, model: ModelPlan, with_token: bool) -> dict[str, Any]:
    """Downloads the weights (at the pinned revision) into the model's cache claim, from `hfEndpoint`.

    Its deadline is the model's load window (plan.model_clock), so raising readyTimeoutMinutes gives a slow
    download more time too.
    """
    env = env_list({
        "MODEL_ID": model.id,
        "MODEL_REVISION": model.revision or "",
        "TARGET_DIR": f"{CACHE_MOUNT_PATH}/{weights_dir(model)}",
        "HF_HOME": "/tmp/hf",
        "HF_HUB_DISABLE_XET": "1",
        "HOME": "/tmp",
    })
    env += hub_env(plan)  # huggingface_hub's snapshot_download reads HF_ENDPOINT
    if with_token:
        env.append({"name": naming.HF_TOKEN_KEY,
                    "valueFrom": {"secretKeyRef": {"name": naming.HF_TOKEN_SECRET, "key": naming.HF_TOKEN_KEY}}})
    name = f"{model.name}-weights"
    clock = model_clock(plan, model)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": model.namespace,
            "labels": naming.labels(model.name, "weights-download"),
            "annotations": {"pulumi.com/waitFor": "condition=Complete",
                            "pulumi.com/timeoutSeconds": str(clock.weights_await_minutes * 60)},
        },
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": clock.weights_deadline_seconds,
            "template": {
                "metadata": {"labels": naming.labels(model.name, "weights-download")},
                "spec": {
                    "restartPolicy": "OnFailure",
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(),
                    "containers": [{
                        "name": "download",
                        "image": plan.applied_image(model_runtime(plan, model).image),
                        "command": ["python3", "-c", _DOWNLOAD],
                        "env": env,
                        "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}},
                        "securityContext": container_security_context(()),
                        "volumeMounts": [{"name": "cache", "mountPath": CACHE_MOUNT_PATH},
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [
                        {"name": "cache", "persistentVolumeClaim": {"claimName": naming.cache_claim_name(model.name)}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "20Gi"}},
                    ],
                },
            },
        },
    }
    if pull_secret_refs(plan):
        job["spec"]["template"]["spec"]["imagePullSecrets"] = pull_secret_refs(plan)
    return job


def apply_multinode(plan: StackPlan, model: ModelPlan, isvc: dict[str, Any]) -> dict[str, Any]:
    """Point the predictor at the multi-node runtime and add its workerSpec."""
    if not model.multinode:
        return isvc
    predictor = isvc["spec"]["predictor"]
    container = predictor["model"]
    container["modelFormat"] = {"name": model_format(plan)}
    container["runtime"] = served_by(plan, model)
    # The weights on the claim are already at the pinned revision.
    serve_from_mount(container, storage_uri(model))
    worker: dict[str, Any] = {
        "pipelineParallelSize": model.nodes,
        "tensorParallelSize": model.tensor_parallel_size,
        "containers": [{
            "name": WORKER_CONTAINER,
            "resources": {kind: dict(values) for kind, values in model.resources.items()},
            "volumeMounts": [{"name": "model-cache", "mountPath": CACHE_MOUNT_PATH}],
        }],
        "volumes": [dict(v) for v in predictor["volumes"]],
        "securityContext": pod_security_context(),
        "automountServiceAccountToken": False,
    }
    if "runtimeClassName" in predictor:
        worker["runtimeClassName"] = predictor["runtimeClassName"]
    predictor["workerSpec"] = worker
    annotations = isvc["metadata"]["annotations"]
    # A multi-node model runs one fixed replica (rules/multinode.py), in the class the validator accepts.
    annotations["serving.kserve.io/autoscalerClass"] = plan.release.multinode_autoscaler_class
    if plan.profile.accelerator:
        # KServe's multi-node check refuses accelerator resources it does not know.
        annotations["serving.kserve.io/gpu-resource-types"] = json.dumps([plan.profile.accelerator])
    return isvc
