"""The Deployment KServe would create for an InferenceService in RawDeployment mode.

Security scanners (checkov's Kubernetes framework) read Pods and Deployments,
not KServe custom resources, so this module reproduces the controller's merge
(`MergeRuntimeContainers` / `MergePodSpec` in KServe's
`pkg/controller/v1beta1/inferenceservice/utils`):

* the predictor's `model` container is strategic-merge-patched onto the
  runtime's container (lists keyed like Kubernetes does: env by `name`,
  volumeMounts by `mountPath`, ports by `containerPort`), except `args`,
  which KServe appends (runtime args first, then the predictor's);
* the runtime's pod-level fields (volumes, nodeSelector, tolerations...) are
  patched with the predictor's pod fields (volumes merged by `name`);
* the pod carries the predictor labels plus KServe's own.

Also modelled: a KServe v0.20 Standard-mode canary (`spec.canary[].predictor`,
Deployment `<name>-<canary>-predictor`, the same merge), and Serverless mode,
where KServe puts the same merged pod spec into the Knative Service and Knative
runs it as Deployment `<name>-predictor-<revision>-deployment` (plus its own
queue-proxy sidecar, which is Knative's and not modelled here).

Only what our objects use is modelled. This module must not import Pulumi.
"""

from __future__ import annotations

import copy
from typing import Any

# patchMergeKey of the list fields we emit (k8s.io/api/core/v1 struct tags).
_MERGE_KEYS = {
    "env": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "volumes": "name",
    "containers": "name",
}
_POD_FIELDS_NOT_IN_PODSPEC = {"minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "labels", "annotations",
                             "model", "containerConcurrency", "timeout", "canaryTrafficPercent", "logger", "batcher",
                             "deploymentStrategy", "name", "workerSpec"}


def strategic_merge(base: Any, patch: Any, key: str | None = None) -> Any:
    """Kubernetes strategic merge of `patch` onto `base` for the shapes we use."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for name, value in patch.items():
            merged[name] = strategic_merge(merged[name], value, name) if name in merged else copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and key in _MERGE_KEYS:
        field = _MERGE_KEYS[key]
        merged = [copy.deepcopy(item) for item in base]
        index = {item.get(field): i for i, item in enumerate(merged)}
        for item in patch:
            at = index.get(item.get(field))
            if at is None:
                merged.append(copy.deepcopy(item))
            else:
                merged[at] = strategic_merge(merged[at], item)
        return merged
    return copy.deepcopy(patch)  # scalars and plain lists are replaced


def predicted_deployment(runtime: dict[str, Any], isvc: dict[str, Any], canary: str | None = None) -> dict[str, Any]:
    """apps/v1 Deployment `<name>-predictor` as KServe's raw reconciler would write it.

    With `canary`, the Deployment `<name>-<canary>-predictor` of that `spec.canary[]` entry.
    """
    runtime_spec = runtime["spec"]
    predictor = isvc["spec"]["predictor"]
    name = isvc["metadata"]["name"]
    if canary is not None:
        (entry,) = [c for c in isvc["spec"]["canary"] if c["predictor"]["name"] == canary]
        predictor = entry["predictor"]
    (runtime_container,) = runtime_spec["containers"]
    model = predictor["model"]
    container_patch = {k: v for k, v in model.items() if k not in ("modelFormat", "runtime", "args", "storageUri")}
    container = strategic_merge(runtime_container, container_patch)
    container["args"] = [*runtime_container.get("args", []), *model.get("args", [])]

    pod = {k: v for k, v in runtime_spec.items()
           if k not in ("containers", "supportedModelFormats", "protocolVersions", "multiModel", "disabled",
                        "builtInAdapter", "storageHelper", "grpcEndpoint", "grpcDataEndpoint", "httpDataEndpoint",
                        "replicas", "workerSpec", "annotations", "labels")}
    pod_patch = {k: v for k, v in predictor.items() if k not in _POD_FIELDS_NOT_IN_PODSPEC}
    pod = strategic_merge(pod, pod_patch)
    pod["containers"] = [container]

    component = f"{name}-{canary}-predictor" if canary is not None else f"{name}-predictor"
    labels = {
        **predictor.get("labels", {}),
        "app": f"isvc.{component}",
        "component": "predictor",
        "serving.kserve.io/inferenceservice": name,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": component, "namespace": isvc["metadata"]["namespace"], "labels": labels},
        "spec": {
            "replicas": predictor.get("minReplicas", 1),
            "selector": {"matchLabels": {"app": f"isvc.{component}"}},
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }
