"""Rollout rules: canary versions and models that span several nodes.

Canary: a second version of a model (new image, revision, args or env) gets a
share of the traffic beside the stable one.

* Serverless: the predictor carries the new settings and
  `canaryTrafficPercent`; Knative keeps the last revision that had all the
  traffic and splits between the two.
* Standard mode on KServe v0.20: `spec.canary[]` runs a second Deployment
  `<model>-<canary>-predictor` beside the stable predictor.
* RawDeployment before v0.20 has no canary: refused.

Multi-node: KServe's `workerSpec` (v0.14+) runs a Ray head pod and
`nodes - 1` worker pods; vLLM uses tensor parallelism inside each node and
pipeline parallelism across nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from . import naming
from .config import CanaryConfig, ModelConfig, StackConfig
from .errors import ConfigIssue
from .registry import ResolvedSource
from .platforms import PlatformProfile
from .scaling import Scaling
from .versions import KServeRelease

DEFAULT_CANARY_NAME = "canary"


@dataclass(frozen=True)
class CanaryPlan:
    """The canary version of a model, resolved."""

    name: str
    traffic_percent: int
    args: tuple[str, ...]
    env: Mapping[str, str]
    image: str | None
    revision: str | None
    # The registry version the canary serves (the model's own unless canary.source is set).
    source: ResolvedSource | None = None
    # The canary's LoRA adapters (lora.LoraPlan): the model's unless canary.adapters is set.
    lora: Any = None


def canary_issues(
    path: str, model: ModelConfig, canary: CanaryConfig, config: StackConfig, release: KServeRelease,
    name: str, nodes: int, scaling: Scaling,
) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    serverless = config.kserve.serverless
    if not serverless and not release.supports_spec_canary:
        issues.append(ConfigIssue(
            f"{path}.canary", f"{release.raw_mode} mode has no canary before KServe v0.20 (spec.canary); use "
            f"kserve.version v0.20.0, or kserve.deploymentMode Serverless (canaryTrafficPercent)",
            canary.model_dump(by_alias=True, exclude_none=True),
        ))
    if not canary.changes:
        issues.append(ConfigIssue(
            f"{path}.canary", "changes nothing: set at least one of image, revision, extraArgs, env, source",
            canary.model_dump(by_alias=True, exclude_none=True),
        ))
    if serverless and canary.name is not None:
        issues.append(ConfigIssue(
            f"{path}.canary.name", "has no effect in Serverless mode (Knative names the revisions); remove it",
            canary.name,
        ))
    if not serverless and release.supports_spec_canary and scaling.engine == "keda":
        # Seen on the local cluster (tests/e2e/test_features.py) with KServe v0.20.0: its validator refuses
        # autoScaling and maxReplicas on a canary ("canary uses fixed replicas"), yet the InferenceService's
        # autoscalerClass gives the canary a KEDA ScaledObject of its own, without triggers, which the API
        # server refuses: the canary never reconciles.
        issues.append(ConfigIssue(
            f"{path}.canary", f"KServe {release.tag} cannot run a canary beside a KEDA-scaled model (it builds a "
            "ScaledObject without triggers for the fixed-replica canary, which the API server refuses); use "
            "autoscaling.engine hpa for this stack, or roll out without a canary",
            canary.model_dump(by_alias=True, exclude_none=True),
        ))
    if not serverless and release.supports_spec_canary:
        deployment = naming.canary_predictor_service(name, canary.name or DEFAULT_CANARY_NAME)
        if len(deployment) > naming.DNS_LABEL_MAX:
            issues.append(ConfigIssue(
                f"{path}.canary.name", f"makes the canary Deployment name {deployment!r} {len(deployment)} "
                f"characters; at most {naming.DNS_LABEL_MAX}: choose a shorter canary or model name",
                canary.name or DEFAULT_CANARY_NAME,
            ))
    if nodes > 1:
        issues.append(ConfigIssue(
            f"{path}.canary", "a multi-node model (nodes > 1) cannot have a canary: KServe's canary runs the "
            "predictor only, without its workers", canary.model_dump(by_alias=True, exclude_none=True),
        ))
    return issues


def multinode_issues(
    path: str, model: ModelConfig, config: StackConfig, release: KServeRelease, profile: PlatformProfile,
    nodes: int, scaling: Scaling,
) -> list[ConfigIssue]:
    """Why a model spanning `nodes` nodes cannot be served here, if it cannot."""
    if nodes <= 1:
        return []
    issues: list[ConfigIssue] = []
    key = f"{path}.nodes"
    if not release.supports_worker_spec:
        issues.append(ConfigIssue(
            key, f"multi-node serving needs KServe v0.14 or later (predictor.workerSpec); {release.tag} has none. "
            "Use kserve.version v0.14.0 or later, or a platform whose node holds the model", nodes,
        ))
    if profile.accelerator is None:
        issues.append(ConfigIssue(
            key, "multi-node serving is for accelerator nodes (gaudi, gaudi3): vLLM's CPU backend on Xeon has no "
            "Ray pipeline across nodes here", nodes,
        ))
    if config.kserve.serverless:
        issues.append(ConfigIssue(
            key, "multi-node serving runs in RawDeployment/Standard mode only (KServe creates a head and a worker "
            "Deployment); kserve.deploymentMode is Serverless", nodes,
        ))
    if scaling.engine is not None:
        issues.append(ConfigIssue(
            key, "a multi-node model runs a fixed single replica (KServe refuses autoscaling with workerSpec); "
            "set autoscaling.enabled false", nodes,
        ))
    storage = config.storage
    if not storage.enabled or storage.access_mode != "ReadWriteMany":
        issues.append(ConfigIssue(
            "storage.enabled" if not storage.enabled else "storage.accessMode",
            f"{path} spans {nodes} nodes: multi-node serving reads the weights from a claim that the head and "
            "every worker node mount; set storage.enabled true and storage.accessMode ReadWriteMany",
            storage.enabled if not storage.enabled else storage.access_mode,
        ))
    if model.pipeline_parallel_size is not None and model.pipeline_parallel_size != nodes:
        issues.append(ConfigIssue(
            f"{path}.pipelineParallelSize", f"is the number of nodes for a multi-node model ({nodes}); "
            "remove it or set nodes", model.pipeline_parallel_size,
        ))
    return issues
