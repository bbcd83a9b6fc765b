"""IntelRuntimes: the Intel ClusterServingRuntimes, one per serving stack in use."""

from __future__ import annotations

import pulumi

from kserve_intel.builders.runtime import runtime_objects, runtime_summary
from kserve_intel.plan import StackPlan

from .manifests import apply, child_options


class IntelRuntimes(pulumi.ComponentResource):
    """The runtimes of the serving stacks the models run (builders.runtime.runtime_objects).

    With `runtimes.configureIntel: false` it registers nothing: the runtimes of the same names
    are expected to be managed by another stack.
    """

    runtime_name: str

    def __init__(self, name: str, plan: StackPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kserve-intel:index:IntelRuntimes", name, None, opts)
        objects = runtime_objects(plan)
        # The first runtime in use: the stack-wide one unless every model picks another stack.
        self.runtime_name = objects[0]["metadata"]["name"]
        self.runtimes: list[pulumi.Resource] = []
        if plan.config.runtimes.configure_intel:
            self.runtimes = [apply(obj, child_options(self, opts)) for obj in objects]
        self.summary = runtime_summary(plan)
        self.register_outputs({"runtimeName": self.runtime_name, "image": plan.image, "runtimes": self.summary})
