"""The local model cache (`localModelCache`, `models[].localCache`): KServe's LocalModelCache (v0.15+).

KServe downloads a `LocalModelCache`'s `sourceModelUri` onto a local disk of
every node of a `LocalModelNodeGroup` (one download Job per node, in the
localmodel job namespace). An InferenceService whose `storageUri` matches a
cache's `sourceModelUri` is then scheduled onto those nodes and gets the
node-local copy mounted at `/mnt/models` instead of downloading it: a new
replica starts without a download.

Our models normally load from the Hugging Face hub inside vLLM (`--model <id>`).
A model with `localCache` instead gets `storageUri: hf://<id>[:<revision>]`
(the URI KServe's storage initializer accepts, v0.15+) and vLLM serves
`--model /mnt/models`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterable, Mapping

from ..catalog.kserve import KServeRelease, release
from ..catalog.platforms import PlatformProfile
from ..config.model import ModelConfig
from ..config.stack import StackConfig
from ..config.values import quantity_bytes
from ..errors import ConfigIssue


@dataclass(frozen=True)
class NodeGroupPlan:
    """The resolved LocalModelNodeGroup and how KServe's localmodel parts are installed."""

    name: str
    local_path: str
    size: str
    storage_class: str
    # Nodes of the group: the PV's node affinity and the node agent's nodeSelector.
    node_selector: Mapping[str, str]
    tolerations: tuple[Mapping[str, str], ...]
    job_namespace: str


def node_group_plan(config: StackConfig, kserve_release: KServeRelease, profile: PlatformProfile,
                    runtime_selector: Mapping[str, str]) -> NodeGroupPlan | None:
    cache = config.local_model_cache
    if not cache.enabled:
        return None
    group = cache.node_group
    selector = dict(group.node_selector if group.node_selector is not None else runtime_selector)
    # v0.17+: the agent DaemonSet keeps the chart's own selector (Helm merges maps), so the
    # group's nodes must carry that label too.
    selector.update(kserve_release.localmodel_agent_node_labels)
    return NodeGroupPlan(
        name=group.name,
        local_path=group.local_path,
        size=group.size,
        storage_class=group.storage_class,
        node_selector=MappingProxyType(selector),
        tolerations=tuple(MappingProxyType(dict(t)) for t in profile.tolerations),
        job_namespace=cache.job_namespace,
    )


def local_cache_checks(config: StackConfig) -> Iterable[ConfigIssue]:
    """Stack-level rules (per-model rules that need resolved values: `model_cache_issues`)."""
    cache = config.local_model_cache
    cached = [(i, m) for i, m in enumerate(config.models) if m.local_cache is not None]
    if not cache.enabled:
        for name in ("job_namespace", "node_group"):
            if cache.explicitly_set(name):
                key = {"job_namespace": "jobNamespace", "node_group": "nodeGroup"}[name]
                value = getattr(cache, name)
                yield ConfigIssue(
                    f"localModelCache.{key}", "has no effect unless localModelCache.enabled is true",
                    value.model_dump(by_alias=True, exclude_unset=True) if hasattr(value, "model_dump") else value,
                )
        for index, model in cached:
            yield ConfigIssue(
                f"models[{index}].localCache", "needs localModelCache.enabled true (KServe's local model "
                "controller and a node group); enable it or remove localCache",
                model.local_cache.model_dump(by_alias=True),
            )
        return
    kserve_release = release(config.kserve.version)
    if not kserve_release.supports_local_model_cache:
        yield ConfigIssue(
            "localModelCache.enabled", f"KServe's LocalModelCache exists from v0.15; {kserve_release.tag} has none. "
            "Use kserve.version v0.15.0 or later", True,
        )
    if not config.kserve.install:
        yield ConfigIssue(
            "localModelCache.enabled", "the local model controller is installed with KServe's charts, and "
            "kserve.install is false; enable it in the existing KServe (kserve.localmodel.enabled) or let this "
            "stack install KServe", True,
        )
    if config.kserve.namespace == cache.job_namespace or config.namespace == cache.job_namespace:
        yield ConfigIssue(
            "localModelCache.jobNamespace", "must be a namespace of its own (KServe runs the download jobs there), "
            "not kserve.namespace nor the models' namespace", cache.job_namespace,
        )
    if not cached:
        yield ConfigIssue(
            "localModelCache.enabled", "no model sets localCache, so the node group would cache nothing; add "
            "`localCache: {size: <weights size>}` to the models to pre-load, or disable the cache", True,
        )
    total = sum(quantity_bytes(m.local_cache.size) for _, m in cached)
    limit = quantity_bytes(cache.node_group.size)
    for index, model in cached:
        if quantity_bytes(model.local_cache.size) > limit:
            yield ConfigIssue(
                f"models[{index}].localCache.size", f"exceeds the node group's disk (localModelCache.nodeGroup.size "
                f"= {cache.node_group.size}); raise nodeGroup.size", model.local_cache.size,
            )
    if cached and total > limit and all(quantity_bytes(m.local_cache.size) <= limit for _, m in cached):
        sizes = ", ".join(f"models[{i}] {m.local_cache.size}" for i, m in cached)
        yield ConfigIssue(
            "localModelCache.nodeGroup.size", f"is smaller than the cached models together ({sizes}); every node "
            "of the group keeps all of them: raise it or cache fewer models", cache.node_group.size,
        )


def model_cache_issues(path: str, model: ModelConfig, nodes: int, group: NodeGroupPlan | None) -> list[ConfigIssue]:
    """Why this model's weights cannot come from the local model cache, if they cannot."""
    if model.local_cache is None or group is None:
        return []
    issues: list[ConfigIssue] = []
    value = model.local_cache.model_dump(by_alias=True)
    if nodes > 1:
        issues.append(ConfigIssue(
            f"{path}.localCache", "a multi-node model reads its weights from the ReadWriteMany claim (pvc:// "
            "storageUri) that head and workers share; it cannot also use the node-local cache", value,
        ))
    if model.canary is not None:
        issues.append(ConfigIssue(
            f"{path}.localCache", "a cached model cannot have a canary: the cache holds one revision "
            "(sourceModelUri), and a canary with other weights would not match it", value,
        ))
    if model.revision and "/" in model.revision:
        issues.append(ConfigIssue(
            f"{path}.revision", "a cached model's revision goes into its hf://<id>:<revision> URI, which KServe "
            "splits at '/': use a commit or a tag without '/'", model.revision,
        ))
    return issues


def node_group_issues(group: NodeGroupPlan | None) -> list[ConfigIssue]:
    if group is not None and not group.node_selector:
        return [ConfigIssue(
            "localModelCache.nodeGroup.nodeSelector", "must name at least one label: a local PersistentVolume "
            "needs node affinity, and runtimes.nodeSelector is empty", {},
        )]
    return []
