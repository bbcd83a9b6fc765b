"""Canary versions: a second version of a model (new image, revision, args, env, registry version or adapters)
gets a share of the traffic beside the stable one.

* Serverless: the predictor carries the new settings and `canaryTrafficPercent`; Knative keeps the last
  revision that had all the traffic and splits between the two.
* Standard mode on KServe v0.20: `spec.canary[]` runs a second Deployment `<model>-<canary>-predictor`
  beside the stable predictor.
* RawDeployment before v0.20 has no canary: refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from .. import naming
from ..catalog.kserve import KServeRelease
from ..catalog.serving_stacks import image_platforms
from ..config.canary import CanaryConfig
from ..config.model import ModelConfig
from ..config.stack import StackConfig
from ..errors import ConfigIssue
from .autoscaling import Scaling
from .registry import ResolvedSource


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
    if canary.image is not None:
        platforms = image_platforms(canary.image)
        if platforms is not None and config.platform not in platforms:
            built = ", ".join(sorted(platforms)) if platforms else "another vendor's accelerators (CUDA/ROCm)"
            issues.append(ConfigIssue(
                f"{path}.canary.image", f"is built for {built}, but the model runs on {config.platform} (platform): "
                f"the canary pod would fail to start on those nodes; allowed: an image of this model's serving "
                f"stack for {config.platform}", canary.image))
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


def resolve_canary(path: str, model: ModelConfig, config: StackConfig, kserve_release: KServeRelease, name: str,
                   nodes: int, scaling: Scaling, issues: list[ConfigIssue], warnings: list[str], *,
                   command_line: Callable[[str | None, Iterable[str]], list[str]],
                   resolve_adapters: Callable[[str, list[Any], Mapping[str, str], list[str]], Any],
                   lora: Any, env: Mapping[str, str], source: ResolvedSource | None) -> CanaryPlan | None:
    """The canary of one model: its rules, its command line in the model's backend syntax, and its adapters.

    `resolve_adapters(key, adapters, env, extra_args)` is the model's LoRA resolution (rules/lora.py) with the
    base's settings bound; the canary reruns it when it brings its own adapters, or when its own args or env
    could change what the adapters are allowed (the answer is then checked and dropped: the model's adapters
    are served).
    """
    if model.canary is None:
        return None
    issues.extend(canary_issues(path, model, model.canary, config, kserve_release, name, nodes, scaling))
    c = model.canary
    revision = c.revision or model.revision
    extra_args = c.extra_args if c.extra_args is not None else model.extra_args
    canary_args = command_line(revision, extra_args)
    canary_env = {**model.env, **(c.env or {})}
    canary_lora = lora
    if c.adapters is not None:
        canary_lora = resolve_adapters(f"{path}.canary", c.adapters, canary_env, extra_args)
    elif lora is not None and (c.extra_args is not None or c.env is not None):
        resolve_adapters(f"{path}.canary", model.adapters, canary_env, extra_args)
    if canary_lora is not None:
        canary_args += list(canary_lora.args)
    if not config.kserve.serverless and config.storage.enabled and config.storage.access_mode == "ReadWriteOnce":
        warnings.append(
            f"{path} {model.id}: the canary Deployment mounts the same ReadWriteOnce cache claim, so it can "
            "only start on the node of the stable pod; use storage.accessMode ReadWriteMany."
        )
    return CanaryPlan(
        name=c.name or DEFAULT_CANARY_NAME,
        traffic_percent=c.traffic_percent,
        args=tuple(canary_args),
        env=MappingProxyType({**env, **(c.env or {})}),
        image=c.image,
        revision=revision,
        source=source,
        lora=canary_lora,
    )
