"""The ownership look: before any resource, during `preview` and `up`, read-only, through the stack's own cluster.

1. The owner stamp (`<org>/<project>/<stack>`) goes on every object the program registers from here on.
2. Unless `ownership.check: off`: connect as the Kubernetes provider would (`kubernetes:kubeconfig` path or
   contents, `kubernetes:context`, `kubernetes:cluster`, else $KUBECONFIG / ~/.kube/config / in-cluster).
3. Resolve each `auto` (kserve.install, kserve.certManager, kserve.knative, autoscaling.keda.install) from what
   the cluster holds, and check the cluster's KServe version when the stack uses it (rules/ownership.py).
4. Ask about every object the stack would create (builders/ownership.py `inventory`): absent, this stack's, or
   someone else's; refuse the last, with who manages it and the config that fits, in one message, unless
   `adopt` names it. Application stacks (`runtimes.configureIntel: false`) need their runtimes to be there.

`make up ADOPT=1` sets KSERVE_INTEL_ADOPT=retained: objects labelled part-of kserve-intel without an owner
stamp (left by a version before stamps) at names this stack creates are taken back and stamped.
"""

from __future__ import annotations

import dataclasses
import os

import pulumi

from kserve_intel import naming
from kserve_intel.builders.ownership import inventory, own_releases
from kserve_intel.online.cluster import Cluster, ClusterUnreachable, connect
from kserve_intel.plan import StackPlan
from kserve_intel.rules import ownership as rules

from .manifests import use_ownership

ADOPT_ENV = "KSERVE_INTEL_ADOPT"


def check_ownership(plan: StackPlan) -> StackPlan:
    """The plan with its owner, `auto` resolved and adoptions decided; `pulumi.RunError` on a refusal."""
    owner = naming.owner_id(pulumi.get_organization(), pulumi.get_project(), pulumi.get_stack())
    plan = dataclasses.replace(plan, owner=owner)
    preview = pulumi.runtime.is_dry_run()
    if plan.config.ownership.check == "off":
        if rules.auto_concerns(plan.config):
            pulumi.log.info("ownership.check is off: " + ", ".join(rules.auto_concerns(plan.config))
                            + " auto -> install (as on an empty cluster)")
        use_ownership(plan)
        return plan
    k8s = pulumi.Config("kubernetes")
    try:
        cluster = connect(k8s.get("kubeconfig"), k8s.get("context"), k8s.get("cluster"))
    except ClusterUnreachable as error:
        return _unreachable(plan, error, preview)
    try:
        with cluster:
            plan = _look(plan, cluster, preview)
    except ClusterUnreachable as error:
        return _unreachable(plan, error, preview)
    use_ownership(plan)
    return plan


def _unreachable(plan: StackPlan, error: ClusterUnreachable, preview: bool) -> StackPlan:
    if not preview:
        raise pulumi.RunError(
            f"kserve-intel cannot read the cluster to check what it owns before changing anything: {error}. "
            "Fix the kubeconfig/context (kubernetes:kubeconfig, kubernetes:context, $KUBECONFIG), or set "
            "kserve-intel:ownership.check off to deploy without the check")
    pulumi.log.warn(f"ownership not checked (the cluster cannot be read: {error}); `up` will refuse until it can. "
                    "`auto` choices shown as on an empty cluster")
    use_ownership(plan)
    return plan


def _look(plan: StackPlan, cluster: Cluster, preview: bool) -> StackPlan:
    adopt_retained = os.environ.get(ADOPT_ENV) == "retained"
    config = plan.config
    # 1. `auto`: the component's own release first (installed by this stack: keep installing it), then the cluster.
    concerns = set(rules.auto_concerns(config))
    uses_cluster_kserve = config.kserve.install is not True
    releases = own_releases(plan)
    own = {c: f for c, f in zip(sorted(concerns), cluster.find([releases[c] for c in sorted(concerns)], plan.owner))}
    detect = {rules.KSERVE: cluster.kserve, rules.CERT_MANAGER: cluster.cert_manager,
              rules.KNATIVE: cluster.knative_serving, rules.KEDA: cluster.keda}
    found = {c: detect[c]() for c in concerns | ({rules.KSERVE} if uses_cluster_kserve else set())}
    resolution = rules.resolve_installs(config, plan.installs, plan.release.tag, found, own, adopt_retained)
    plan = dataclasses.replace(plan, installs=resolution.installs)
    for line in resolution.notes:
        pulumi.log.info(line)
    for line in resolution.warnings:
        pulumi.log.warn(line)
    refusals = list(resolution.refusals)
    # 2. Every object the stack would create, and the runtimes an application stack needs.
    stock = inventory(plan)
    findings = _find(cluster, stock.keys(), plan.owner)
    needed = {f.key: f for f in cluster.find([n.key for n in stock.needed], plan.owner)}
    decision = rules.decide(stock.owned, findings, stock.needed, needed, config.adopt, adopt_retained, preview)
    for line in decision.notes:
        pulumi.log.info(line)
    for line in decision.warnings:
        pulumi.log.warn(line)
    refusals += decision.refusals
    if refusals:
        raise pulumi.RunError(rules.refusal_message(plan.owner, refusals))
    return dataclasses.replace(plan, adopted=decision.adopted)


def _find(cluster: Cluster, keys: list, owner: str) -> dict:
    """Namespaces first: nothing can exist inside one that does not, so a first `up` costs a few GETs."""
    namespaces = [k for k in keys if getattr(k, "kind", None) == "Namespace"]
    found = cluster.find(namespaces, owner)
    absent = {f.key.name for f in found if f.state == "absent"}
    rest = [k for k in keys if k not in namespaces and getattr(k, "namespace", None) not in absent]
    return {f.key: f for f in [*found, *cluster.find(rest, owner)]}
