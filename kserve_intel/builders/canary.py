"""The canary version of a model inside its InferenceService.

Serverless: the predictor itself carries the canary settings plus
`canaryTrafficPercent`; Knative keeps serving the last revision that had all the
traffic (KServe's `latestRolledoutRevision`) with the rest. `trafficPercent: 0`
puts the stable settings back on the predictor with 0% to the latest revision,
so a rollback never routes to the failed canary while the stable settings load.

Standard mode (KServe v0.20): `spec.canary[]` holds a second predictor
(Deployment `<model>-<canary>-predictor`) that gets `trafficPercent` of the
traffic; the stable predictor is untouched.
"""

from __future__ import annotations

import copy
from typing import Any

from ..plan import ModelPlan, StackPlan
from .pod import CONTAINER_NAME, env_list, hub_env


def _with_canary_settings(predictor: dict[str, Any], model: ModelPlan, env_extra: list[dict[str, Any]]) -> dict[str, Any]:
    canary = model.canary
    changed = copy.deepcopy(predictor)
    container = changed["model"]
    container["args"] = list(canary.args)
    container["env"] = env_list(canary.env) + env_extra
    if not container["env"]:
        del container["env"]  # as for the stable predictor: an empty list is dropped by the API server
    if canary.image:
        container["image"] = canary.image
    # Another adapter set on the same base: its own storageUris (KServe v0.16+), or none.
    changed.pop("storageUris", None)
    if canary.lora is not None and canary.lora.via_storage_uris:
        changed["storageUris"] = canary.lora.storage_uris
    return changed


def apply_canary(plan: StackPlan, model: ModelPlan, isvc: dict[str, Any]) -> dict[str, Any]:
    canary = model.canary
    if canary is None:
        return isvc
    predictor = isvc["spec"]["predictor"]
    # Managed variables (the token from its Secret, the hub mirror) stay as they are.
    managed = hub_env(plan) + [e for e in predictor["model"].get("env", []) if "valueFrom" in e]
    annotations = isvc["metadata"]["annotations"]
    if canary.revision:
        annotations["kserve-intel/canary-revision"] = canary.revision
    if plan.config.kserve.serverless:
        if canary.traffic_percent > 0:
            isvc["spec"]["predictor"] = _with_canary_settings(predictor, model, managed)
        isvc["spec"]["predictor"]["canaryTrafficPercent"] = canary.traffic_percent
        return isvc
    variant = _with_canary_settings(predictor, model, managed)
    # KServe's validator: "canary uses fixed replicas" (no maxReplicas, no autoScaling). A canary beside a
    # KEDA-scaled model is refused at config time (rollout.canary_issues).
    for key in ("minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "autoScaling"):
        variant.pop(key, None)
    variant["minReplicas"] = 1
    # The v0.20 CRD requires the container name in a canary's model; KServe
    # merges the predictor into the runtime's container of that name.
    variant["model"] = {"name": CONTAINER_NAME, **variant["model"]}
    isvc["spec"]["canary"] = [{
        "trafficPercent": canary.traffic_percent,
        "predictor": {"name": canary.name, **variant},
    }]
    return isvc
