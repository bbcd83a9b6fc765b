"""Per-model objects: the cache claim and the InferenceService, plus the
namespace-wide token Secret they share."""

from __future__ import annotations

from typing import Any

from .. import naming
from ..catalog.platforms import CACHE_MOUNT_PATH
from ..catalog.platforms import SERVING_PORT
from ..plan import ModelPlan, StackPlan, model_clock, model_runtime
from .autoscaling import predictor_scaling
from .canary import apply_canary
from .downloads import apply_storage_container
from .local_model_cache import apply_local_cache
from .multinode import apply_multinode
from .pod import env_list, hub_env
from .registry import apply_registry
from .runtime import startup_probe
from .security import pod_security_context

CACHE_VOLUME = "model-cache"


def model_namespace(plan: StackPlan) -> dict[str, Any]:
    name = plan.config.namespace
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                **naming.labels(name, "inference"),
                # The vLLM pods meet the restricted profile except where a runtime in use
                # adds capabilities (Gaudi; vllm-0.33's SYS_NICE): those need "privileged" admission.
                "pod-security.kubernetes.io/enforce": "privileged" if plan.capabilities else "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            },
        },
    }


def hf_token_secret(plan: StackPlan) -> dict[str, Any]:
    """The Secret without its data; the component adds the value as a Pulumi secret."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": naming.HF_TOKEN_SECRET,
            "namespace": plan.config.namespace,
            "labels": naming.labels(naming.HF_TOKEN_SECRET, "credentials"),
        },
        "type": "Opaque",
    }


def cache_claim(plan: StackPlan, model: ModelPlan) -> dict[str, Any]:
    storage = plan.config.storage
    spec: dict[str, Any] = {
        "accessModes": [storage.access_mode],
        "resources": {"requests": {"storage": storage.size}},
    }
    if storage.storage_class:
        spec["storageClassName"] = storage.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": naming.cache_claim_name(model.name),
            "namespace": model.namespace,
            "labels": naming.labels(model.name, "model-cache", server=_server(model)),
        },
        "spec": spec,
    }


def not_ready_message(model: ModelPlan, operation: str, errors: list[str],
                      external_runtime: str | None = None) -> str | None:
    """What `pulumi up` adds when a model's InferenceService failed: which model, why, what to run next.

    `errors` are the provider's messages, newest first (pulumi-kubernetes 4.25.0: "... was successfully created,
    but the Kubernetes API server reported that it failed to fully initialize or become live: timed out waiting
    for the condition", "... was not successfully created by the Kubernetes API server: <API error>"). None for
    an operation the user cancelled (Ctrl-C): the CLI says so already. `external_runtime`: the runtime the model
    runs when another stack provides it (runtimes.configureIntel false), named first when the model times out.
    """
    ns, name = model.namespace, model.name
    selector = f"serving.kserve.io/inferenceservice={name}"
    text = errors[0] if errors else "unknown error"
    last = text.strip().splitlines()[-1].strip() if text.strip() else "unknown error"
    for marker in (" become live: ", " by the Kubernetes API server: "):  # the cause, without the URN before it
        last = last.split(marker, 1)[-1]
    if "context canceled" in text:
        return None
    if operation == "delete":
        return (
            f"model {name} ({model.id}): its InferenceService {ns}/{name} was not deleted within "
            f"deleteTimeoutMinutes ({last}). Its finalizer needs the KServe controller: check "
            f"`kubectl -n kserve get pods` (the controller must run), then re-run `pulumi destroy`. "
            f"If the controller is gone for good: `kubectl -n {ns} patch inferenceservice {name} --type=merge "
            f"-p '{{\"metadata\":{{\"finalizers\":null}}}}'`.")
    if "field conflict" in text:
        return (
            f"model {name} ({model.id}): a field of its InferenceService {ns}/{name} that the stack sets was "
            f"changed by someone else (kubectl edit?), so server-side apply refuses to take it back. "
            f"`pulumi preview --refresh --diff` shows the change; to restore the stack's value run "
            f"`PULUMI_K8S_ENABLE_PATCH_FORCE=true pulumi up --refresh`; to keep it, put it in the stack's config.")
    if "failed calling webhook" in text:
        return (
            f"model {name} ({model.id}): the API server refused its InferenceService because KServe's webhook "
            f"did not answer: the KServe controller, which serves the webhooks, is down or unreachable. Check "
            f"`kubectl -n kserve get pods` and `kubectl -n kserve logs deploy/kserve-controller-manager`; when it "
            f"runs again, re-run `pulumi up`.")
    if "timed out" not in text and "failed to fully initialize" not in text:
        return (
            f"model {name} ({model.id}): its InferenceService {ns}/{name} failed ({last[:300]}). "
            f"Fix what the error names and re-run `pulumi up`.")
    runtime = ""
    if external_runtime:
        runtime = (f"Its runtime, ClusterServingRuntime {external_runtime}, comes from another stack "
                   f"(runtimes.configureIntel is false): if `kubectl get clusterservingruntime {external_runtime}` "
                   f"finds none, it is missing (that stack was destroyed or serves another platform/serving stack) "
                   f"and KServe cannot run the model; create it there or set runtimes.configureIntel true here. ")
    return (
        f"model {name} ({model.id}) did not become Ready within {model.ready_timeout_minutes} min "
        f"(readyTimeoutMinutes; {last[:300]}). Look at `kubectl -n {ns} describe inferenceservice {name}` and "
        f"`kubectl -n {ns} get pods -l {selector}` (Pending: see the pod's events for scheduling; not Ready: "
        f"`kubectl -n {ns} logs -l {selector}`). {runtime}The other models are not affected; fix it and re-run "
        f"`pulumi up`.")


def inference_service(plan: StackPlan, model: ModelPlan, with_token: bool) -> dict[str, Any]:
    runtime = model_runtime(plan, model)
    profile = runtime.profile
    # A mirror (hfEndpoint): the hub client in vLLM downloads from it instead of huggingface.co.
    env = env_list(model.env) + hub_env(plan)
    clock = model_clock(plan, model)
    stack = runtime.stack
    probe_at = {"path": "/health", "port": SERVING_PORT} if model.multinode else {"path": stack.health_path, "port": stack.port}
    if with_token:
        env.append({
            "name": naming.HF_TOKEN_KEY,
            "valueFrom": {"secretKeyRef": {"name": naming.HF_TOKEN_SECRET, "key": naming.HF_TOKEN_KEY}},
        })
    if plan.config.storage.enabled:
        cache_volume = {"name": CACHE_VOLUME, "persistentVolumeClaim": {"claimName": naming.cache_claim_name(model.name)}}
    else:
        cache_volume = {"name": CACHE_VOLUME, "emptyDir": {"sizeLimit": plan.config.storage.size}}
    replicas, scaling_annotations = predictor_scaling(plan, model)
    serverless = plan.config.kserve.serverless
    labels = naming.labels(model.name, "inference-server", server=_server(model))
    predictor: dict[str, Any] = {
        **replicas,
        # Pod labels: the model (app.kubernetes.io/instance) and the stack, for
        # log and metric queries; KServe adds serving.kserve.io/inferenceservice.
        "labels": {**labels, **naming.stack_labels(plan.stack)},
        "serviceAccountName": naming.MODEL_SERVICE_ACCOUNT,
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "model": {
            "modelFormat": {"name": runtime.model_format},
            "runtime": runtime.name,
            "args": list(model.args),
            "env": env,
            # The shared runtime's startup probe, with this model's window: KServe merges the predictor's
            # container into the runtime's (strategic merge, v0.13-v0.20: MergeRuntimeContainers).
            "startupProbe": startup_probe(clock, **probe_at),
            "resources": {kind: dict(values) for kind, values in model.resources.items()},
            "volumeMounts": [{"name": CACHE_VOLUME, "mountPath": CACHE_MOUNT_PATH}],
        },
        "volumes": [cache_volume],
    }
    if not env:
        # The API server drops an empty list, which would be a diff on every preview (seen for a registry
        # model without a token on the local cluster: tests/e2e/test_registry.py).
        del predictor["model"]["env"]
    if model.lora is not None and model.lora.via_storage_uris:
        # KServe v0.16+: the storage initializer downloads every adapter before vLLM starts.
        predictor["storageUris"] = model.lora.storage_uris
    if not serverless:
        # vLLM drains in-flight requests on SIGTERM. (Knative refuses the field and
        # derives the grace period from the revision timeout.)
        predictor["terminationGracePeriodSeconds"] = 120
    if profile.runtime_class_name:
        predictor["runtimeClassName"] = profile.runtime_class_name
    if serverless:
        # Knative's default progress deadline (10 min) kills a loading LLM pod (kserve/kserve#3795).
        scaling_annotations = {**scaling_annotations, "serving.knative.dev/progress-deadline": clock.progress_deadline}
    if model.revision:
        scaling_annotations = {**scaling_annotations, "kserve-intel/model-revision": model.revision}
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": model.name,
            "namespace": model.namespace,
            "labels": labels,
            "annotations": {
                "serving.kserve.io/deploymentMode": plan.deployment_mode,
                **scaling_annotations,
                # pulumi-kubernetes does not await custom resources unless asked.
                "pulumi.com/waitFor": "condition=Ready",
                "pulumi.com/timeoutSeconds": str(clock.ready_seconds),
                "kserve-intel/model-id": model.id,
            },
        },
        "spec": {"predictor": predictor},
    }
    isvc = apply_local_cache(plan, model, apply_multinode(plan, model, apply_canary(plan, model, isvc)))
    return apply_storage_container(plan, apply_registry(plan, model, isvc))


def _server(model: ModelPlan) -> str:
    """The app.kubernetes.io/name of a model's pods and cache: its server's (vllm, text-generation-inference...)."""
    return model.serving_stack.app_name if model.serving_stack is not None else "vllm"
