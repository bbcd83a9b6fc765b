"""Namespaces and Helm releases that install cert-manager and KServe."""

from __future__ import annotations

from typing import Any

from ..catalog.kserve import CERT_MANAGER_REPOSITORY, CHART_REPOSITORY
from ..plan import StackPlan
from .helm import HelmRelease, chart_release, namespace
from .local_model_cache import controller_values
from .traffic import kserve_gateway_values

CERT_MANAGER_NAMESPACE = "cert-manager"


def kserve_namespace(plan: StackPlan) -> dict[str, Any]:
    # KServe's own manifests label it so: the pod-mutating webhook skips
    # namespaces with `control-plane`, so it never blocks the controller's pods.
    return namespace(
        plan.config.kserve.namespace, "kserve-controller",
        {"control-plane": "kserve-controller-manager", "istio-injection": "disabled"},
    )


def cert_manager_namespace() -> dict[str, Any]:
    return namespace(CERT_MANAGER_NAMESPACE, "cert-manager")


def cert_manager_release(plan: StackPlan) -> HelmRelease:
    kserve = plan.config.kserve
    return chart_release(
        plan, "cert-manager", CERT_MANAGER_REPOSITORY,
        version=kserve.cert_manager_version or plan.release.cert_manager_version,
        namespace=CERT_MANAGER_NAMESPACE,
        # KServe's webhooks need cert-manager's CRDs; this chart owns them.
        values={"crds": {"enabled": True}},
    )


def crd_release(plan: StackPlan) -> HelmRelease:
    return chart_release(
        plan, plan.release.crd_chart, CHART_REPOSITORY,
        version=plan.release.tag,
        namespace=plan.config.kserve.namespace,
    )


def controller_release(plan: StackPlan) -> HelmRelease:
    kserve = plan.config.kserve
    values: dict[str, Any] = {
        "kserve": {
            "version": plan.release.tag,
            "controller": {
                "deploymentMode": plan.deployment_mode,
                "gateway": {"domain": kserve.ingress_domain},
            },
        }
    }
    gateway_api = kserve_gateway_values(plan)
    if gateway_api:
        values["kserve"]["controller"]["gateway"]["ingressGateway"] = gateway_api
    if plan.release.has_modelmesh_values:
        values["kserve"]["modelmesh"] = {"enabled": False}
    local_model = controller_values(plan)
    if local_model:
        values["kserve"]["localmodel"] = local_model
    if plan.knative_predictor_urls:
        # Kourier routes Knative's own hosts; KServe's top-level Istio VirtualService would need Istio.
        values["kserve"]["controller"]["gateway"]["disableIstioVirtualHost"] = True
    return chart_release(
        plan, plan.release.controller_chart, CHART_REPOSITORY,
        version=plan.release.tag,
        namespace=kserve.namespace,
        values=values,
    )
