"""Models that span several nodes: KServe's `workerSpec` runs a Ray head pod and `nodes - 1` worker pods; vLLM
uses tensor parallelism inside each node and pipeline parallelism across nodes. Works on KServe v0.15.x only:
v0.13/v0.14 create no workers, v0.16-v0.19 never report them Ready, v0.20.0 deletes them (catalog/kserve.py
`multinode_broken`).
"""

from __future__ import annotations

from ..catalog.kserve import KServeRelease
from ..catalog.platforms import PlatformProfile
from ..config.model import ModelConfig
from ..config.stack import StackConfig
from ..errors import ConfigIssue
from .autoscaling import Scaling

# The release multi-node serving holds on (what the messages and docs/multinode.md suggest): v0.15.x only.
MULTINODE_RELEASE = "v0.15.2"


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
            key, f"multi-node serving needs KServe v0.15 or later (v0.13 has no predictor.workerSpec; v0.14 accepts "
            f"the field but its controller creates no workers); kserve.version is {release.tag}. Use "
            f"kserve.version {MULTINODE_RELEASE} (v0.15.x), or a platform whose node holds the model", nodes,
        ))
    elif release.multinode_broken:
        issues.append(ConfigIssue(
            key, f"KServe {release.tag} cannot run a multi-node model: {release.multinode_broken}. Use "
            f"kserve.version {MULTINODE_RELEASE} (v0.15.x), or serve the model on one node (gaudi3)",
            nodes,
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
