"""KServeOperator: cert-manager, the KServe CRDs and the KServe controller."""

from __future__ import annotations

import pulumi

from kserve_intel.builders import kserve as build
from kserve_intel.builders import local_model_cache as local_cache
from kserve_intel.plan import StackPlan

from .manifests import apply, child_options, helm_release, image_pull_secret


class KServeOperator(pulumi.ComponentResource):
    """Installs KServe at the pinned version, in dependency order.

    cert-manager -> CRDs -> controller (-> localmodel CRDs and controller, v0.17+ with a local
    model cache). Anything that creates KServe objects
    depends on this component, so `pulumi destroy` removes those objects while
    the controller still runs to clear their finalizers, and the CRDs last.
    When the stack uses the cluster's KServe (`kserve.install: false`, or `auto`
    that found one) it registers nothing.
    """

    controller: pulumi.Resource | None
    # What LocalModelCaches need running: the localmodel release (v0.17+) or the controller release.
    local_model: pulumi.Resource | None

    def __init__(self, name: str, plan: StackPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kserve-intel:index:KServeOperator", name, None, opts)
        kserve = plan.config.kserve
        self.controller = None
        self.local_model = None
        if not plan.install_kserve:
            self.register_outputs({"installed": False, "version": plan.release.tag})
            return

        # Children wait for what the component waits for (Knative, KEDA).
        child = child_options(self, opts)
        prerequisites: list[pulumi.Resource] = []
        if plan.install_cert_manager:
            cm_namespace = apply(build.cert_manager_namespace(), child)
            cm_pull = image_pull_secret(plan, build.CERT_MANAGER_NAMESPACE, child_options(self, opts, cm_namespace))
            cert_manager = helm_release(build.cert_manager_release(plan),
                                        child_options(self, opts, cm_namespace, *filter(None, [cm_pull])))
            prerequisites.append(cert_manager)

        namespace = apply(build.kserve_namespace(plan), child)
        pull = image_pull_secret(plan, kserve.namespace, child_options(self, opts, namespace))
        prerequisites += [pull] if pull is not None else []
        crds = helm_release(build.crd_release(plan), child_options(self, opts, namespace, *prerequisites))
        self.controller = helm_release(
            build.controller_release(plan), child_options(self, opts, namespace, crds, *prerequisites),
        )
        if plan.local_model_cache is not None:
            self.local_model = self.controller
            if plan.release.localmodel_separate_charts:
                # v0.17+: the localmodel CRDs, controller and node agent are charts of their own.
                local_crds = helm_release(
                    local_cache.localmodel_crd_release(plan), child_options(self, opts, namespace, *prerequisites),
                )
                self.local_model = helm_release(
                    local_cache.localmodel_release(plan),
                    child_options(self, opts, namespace, local_crds, self.controller, *prerequisites),
                )
        self.register_outputs({
            "installed": True,
            "version": plan.release.tag,
            "namespace": kserve.namespace,
            "controllerRelease": self.controller.name,
        })
