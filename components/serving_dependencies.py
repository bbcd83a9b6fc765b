"""ServingDependencies: what KServe's deployment mode and autoscaler need first.

Knative Serving (operator Helm chart + KnativeServing) for Serverless mode with
`kserve.knative: install`, and KEDA (Helm) for `autoscaling.engine: keda` with
`autoscaling.keda.install: true`. KServe's controller and every model depend on
this component, so `pulumi destroy` removes them first.
"""

from __future__ import annotations

import pulumi

from kserve_intel.builders import autoscaling as scaling, knative
from kserve_intel.plan import StackPlan

from .manifests import apply, child_options, helm_release, image_pull_secret


class ServingDependencies(pulumi.ComponentResource):
    """Installs Knative Serving and KEDA when the stack asks for them; else registers nothing."""

    def __init__(self, name: str, plan: StackPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kserve-intel:index:ServingDependencies", name, None, opts)
        self.knative_serving: pulumi.Resource | None = None
        self.keda: pulumi.Resource | None = None
        if plan.install_knative:
            operator_ns = apply(knative.operator_namespace(), child_options(self, opts))
            operator = helm_release(knative.operator_release(plan), child_options(self, opts, operator_ns))
            serving_ns = apply(knative.serving_namespace(), child_options(self, opts))
            pull = image_pull_secret(plan, knative.SERVING_NAMESPACE, child_options(self, opts, serving_ns))
            self.knative_serving = apply(knative.knative_serving(plan), child_options(
                self, opts, operator, serving_ns, *filter(None, [pull])))
        if plan.install_keda:
            keda_ns = apply(scaling.keda_namespace(), child_options(self, opts))
            pull = image_pull_secret(plan, scaling.KEDA_NAMESPACE, child_options(self, opts, keda_ns))
            self.keda = helm_release(scaling.keda_release(plan), child_options(self, opts, keda_ns, *filter(None, [pull])))
        self.register_outputs({
            "knative": plan.release.knative_serving_version if plan.install_knative else None,
            "keda": self.keda is not None,
        })
