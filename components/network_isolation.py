"""NetworkIsolation: the model pods' NetworkPolicy."""

from __future__ import annotations

import pulumi

from kserve_intel.builders.network import model_network_policy
from kserve_intel.plan import StackPlan

from .manifests import apply, child_options


class NetworkIsolation(pulumi.ComponentResource):
    """Registered before the models, so no vLLM pod ever runs unisolated.

    With `networkPolicy.enabled: false` it registers nothing.
    """

    def __init__(self, name: str, plan: StackPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kserve-intel:index:NetworkIsolation", name, None, opts)
        self.policy = None
        if plan.config.network_policy.enabled:
            self.policy = apply(model_network_policy(plan), child_options(self, opts))
        self.register_outputs({"enabled": self.policy is not None})
