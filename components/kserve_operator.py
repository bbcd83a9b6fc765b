"""KServeOperator: cert-manager, the KServe CRDs and the KServe controller."""

from __future__ import annotations

import pulumi

from kserve_intel.builders import kserve as build
from kserve_intel.plan import StackPlan

from .manifests import apply, child_options, helm_release


class KServeOperator(pulumi.ComponentResource):
    """Installs KServe at the pinned version, in dependency order.

    cert-manager -> CRDs -> controller. Anything that creates KServe objects
    depends on this component, so `pulumi destroy` removes those objects while
    the controller still runs to clear their finalizers, and the CRDs last.
    With `kserve.install: false` it registers nothing and uses the KServe
    already in the cluster.
    """

    controller: pulumi.Resource | None

    def __init__(self, name: str, plan: StackPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kserve-intel:index:KServeOperator", name, None, opts)
        kserve = plan.config.kserve
        self.controller = None
        if not kserve.install:
            self.register_outputs({"installed": False, "version": plan.release.tag})
            return

        # Children wait for what the component waits for (Knative, KEDA).
        child = child_options(self, opts)
        prerequisites: list[pulumi.Resource] = []
        if kserve.cert_manager == "install":
            cm_namespace = apply(build.cert_manager_namespace(), child)
            cert_manager = helm_release(build.cert_manager_release(plan), child_options(self, opts, cm_namespace))
            prerequisites.append(cert_manager)

        namespace = apply(build.kserve_namespace(plan), child)
        crds = helm_release(build.crd_release(plan), child_options(self, opts, namespace, *prerequisites))
        self.controller = helm_release(
            build.controller_release(plan), child_options(self, opts, namespace, crds, *prerequisites),
        )
        self.register_outputs({
            "installed": True,
            "version": plan.release.tag,
            "namespace": kserve.namespace,
            "controllerRelease": self.controller.name,
        })
