"""Ownership: the stamp every object carries, and the inventory of what the stack would create.

* `stamp`: the annotation `kserve-intel/owner: <org>/<project>/<stack>` on every manifest (plus
  `kserve-intel/adopted: "true"` on an object taken over through `adopt`); `helm_description` is the same stamp
  for a Helm release. components/manifests.py applies both to every object, in one place.
* `inventory`: every object and Helm release the components register for this plan, under the same conditions
  and from the same builders, each with the config choice that covers it (rules/ownership.py). The ownership
  look asks the cluster about each before any resource is registered. tests/test_ownership.py renders many
  configs and checks this list against what was registered, so it cannot drift from the components.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from .. import naming
from ..online.cluster import HelmReleaseKey, ObjectKey
from ..plan import StackPlan, served_by
from ..rules.ownership import CERT_MANAGER, KEDA, KNATIVE, KSERVE, MODELS, OTHER, RUNTIMES, Key, Needed, Owned, \
    adopt_name
from . import autoscaling, knative, kserve, local_model_cache, model, monitoring, multinode, network, registry, \
    traffic
from .helm import HelmRelease
from .identity import model_service_account
from .runtime import runtime_objects


def stamp(manifest: dict[str, Any], owner: str, adopted: bool = False) -> dict[str, Any]:
    """The manifest with this stack's owner stamp (a copy; nothing without an owner)."""
    if not owner:
        return manifest
    out = copy.deepcopy(manifest)
    annotations = out.setdefault("metadata", {}).setdefault("annotations", {})
    annotations[naming.OWNER_ANNOTATION] = owner
    if adopted:
        annotations[naming.ADOPTED_ANNOTATION] = "true"
    return out


def helm_description(owner: str) -> str | None:
    """The release description Helm stores with every revision: the stamp of a Helm release."""
    return naming.HELM_OWNER_PREFIX + owner if owner else None


def key_of(manifest: dict[str, Any]) -> ObjectKey:
    meta = manifest["metadata"]
    return ObjectKey(manifest["apiVersion"], manifest["kind"], meta["name"], meta.get("namespace"))


def release_key(release: HelmRelease) -> HelmReleaseKey:
    return HelmReleaseKey(release.name, release.namespace)


def adopted_name(manifest: dict[str, Any]) -> str:
    """The `adopt` entry that names this manifest's object."""
    return adopt_name(key_of(manifest))


@dataclass(frozen=True)
class Inventory:
    owned: tuple[Owned, ...]
    # The runtimes the models name when the stack does not create them (runtimes.configureIntel: false).
    needed: tuple[Needed, ...]

    def keys(self) -> list[Key]:
        return [o.key for o in self.owned]


def own_releases(plan: StackPlan) -> dict[str, HelmReleaseKey]:
    """The Helm release that marks each installable component as this stack's (for `auto`)."""
    return {
        CERT_MANAGER: release_key(kserve.cert_manager_release(plan)),
        KSERVE: release_key(kserve.controller_release(plan)),
        KNATIVE: release_key(knative.operator_release(plan)),
        KEDA: release_key(autoscaling.keda_release(plan)),
    }


def inventory(plan: StackPlan) -> Inventory:
    """Every object the components register for `plan` (its `installs` resolved), in registration order."""
    config = plan.config
    owned: list[Owned] = []

    def add(manifest: dict[str, Any] | None, concern: str = OTHER) -> None:
        if manifest is not None:
            owned.append(Owned(key_of(manifest), concern))

    def add_release(release: HelmRelease, concern: str) -> None:
        owned.append(Owned(release_key(release), concern))

    # ServingDependencies
    if plan.install_knative:
        add(knative.operator_namespace(), KNATIVE)
        add_release(knative.operator_release(plan), KNATIVE)
        add(knative.serving_namespace(), KNATIVE)
        add(knative.knative_serving(plan), KNATIVE)
    if plan.install_keda:
        add(autoscaling.keda_namespace(), KEDA)
        add_release(autoscaling.keda_release(plan), KEDA)
    # KServeOperator
    if plan.install_kserve:
        if plan.install_cert_manager:
            add(kserve.cert_manager_namespace(), CERT_MANAGER)
            add_release(kserve.cert_manager_release(plan), CERT_MANAGER)
        add(kserve.kserve_namespace(plan), KSERVE)
        add_release(kserve.crd_release(plan), KSERVE)
        add_release(kserve.controller_release(plan), KSERVE)
        if plan.local_model_cache is not None and plan.release.localmodel_separate_charts:
            add_release(local_model_cache.localmodel_crd_release(plan), KSERVE)
            add_release(local_model_cache.localmodel_release(plan), KSERVE)
    # IntelRuntimes
    if config.runtimes.configure_intel:
        for obj in runtime_objects(plan):
            add(obj, RUNTIMES)
    # ModelNamespace
    add(model.model_namespace(plan), MODELS)
    add(model_service_account(plan))
    if config.hf_token is not None:
        add(model.hf_token_secret(plan))
    if registry.needs_s3_secret(plan):
        add(registry.s3_secret(plan))
    # NetworkIsolation
    if config.network_policy.enabled:
        add(network.model_network_policy(plan))
    # LocalModelCaches
    if plan.local_model_cache is not None:
        if not plan.release.localmodel_chart_creates_job_namespace:
            add(local_model_cache.job_namespace(plan))
        if config.hf_token is not None:
            add(local_model_cache.job_token_secret(plan))
            add(local_model_cache.download_container(plan))
        add(local_model_cache.node_group(plan))
        for m in plan.models:
            if m.local_cache:
                add(local_model_cache.model_cache(plan, m))
    # ModelDeployment
    with_token = config.hf_token is not None
    for m in plan.models:
        if config.storage.enabled:
            add(model.cache_claim(plan, m))
        if m.multinode:
            add(multinode.prefetch_job(plan, m, with_token=with_token))
        add(model.inference_service(plan, m, with_token=with_token))
        add(autoscaling.scaled_object(plan, m))
    # TrafficRoutes
    if config.apisix.enabled and config.apisix.auth is not None:
        add(traffic.oidc_client_secret(plan))
    for m in plan.models:
        if config.ingress.enabled:
            for obj in traffic.ingresses(plan, m):
                add(obj)
        if config.apisix.enabled:
            add(traffic.apisix_route(plan, m))
        if config.gateway_api.enabled and config.gateway_api.routes == "stack":
            add(traffic.http_route(plan, m))
    if config.genai_gateway.enabled:
        add(traffic.genai_gateway_models(plan))
    # Monitoring
    if config.monitoring.enabled:
        add(monitoring.pod_monitor(plan))
        if config.monitoring.alerts.enabled:
            add(monitoring.prometheus_rule(plan))
        if config.monitoring.grafana_dashboard.enabled:
            add(monitoring.grafana_dashboard(plan))

    needed: list[Needed] = []
    if not config.runtimes.configure_intel:
        users: dict[str, list[str]] = {}
        for m in plan.models:
            users.setdefault(served_by(plan, m), []).append(f"{m.config_path} ({m.name})")
        needed = [Needed(ObjectKey("serving.kserve.io/v1alpha1", "ClusterServingRuntime", name), tuple(models))
                  for name, models in users.items()]
    return Inventory(tuple(owned), tuple(needed))



# What this stack's own installations leave in their namespace after `helm uninstall`: Secrets their
# controllers generate at run time (cert-manager's webhook CA, KServe's webhook certificate that cert-manager
# issued, KEDA's certificates). Not content: the namespace guard deletes a namespace that holds only these.
_LEFTOVERS = {
    "cert-manager": ("Secret/cert-manager-webhook-ca",),
    "kserve-controller": ("Secret/kserve-webhook-server-cert",),
    "autoscaler": ("Secret/kedaorg-certs",),
}


def leftovers(namespace_manifest: dict[str, Any]) -> tuple[str, ...]:
    """`Kind/name` of what the installation in this namespace leaves behind (by the namespace's component)."""
    component = namespace_manifest["metadata"].get("labels", {}).get("app.kubernetes.io/component", "")
    return _LEFTOVERS.get(component, ())
