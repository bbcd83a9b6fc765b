"""IntelRuntimes: the platform's Intel vLLM ClusterServingRuntime."""

from __future__ import annotations

import pulumi

from kserve_intel.builders import multinode
from kserve_intel.builders.runtime import cluster_serving_runtime
from kserve_intel.plan import StackPlan

from .manifests import apply, child_options


class IntelRuntimes(pulumi.ComponentResource):
    """One ClusterServingRuntime for the stack's platform profile.

    With `runtimes.configureIntel: false` it registers nothing: the runtime of
    the same name is expected to be managed by another stack.
    """

    runtime_name: str

    def __init__(self, name: str, plan: StackPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kserve-intel:index:IntelRuntimes", name, None, opts)
        self.runtime_name = plan.runtime_name
        self.runtime = None
        self.multinode_runtime = None
        if plan.config.runtimes.configure_intel:
            self.runtime = apply(cluster_serving_runtime(plan), child_options(self, opts))
            if any(m.multinode for m in plan.models):
                self.multinode_runtime = apply(multinode.cluster_serving_runtime(plan), child_options(self, opts))
        self.register_outputs({"runtimeName": self.runtime_name, "image": plan.image})
