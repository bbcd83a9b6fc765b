"""kserve-intel: KServe with Intel-optimized vLLM on Xeon, Gaudi and Gaudi3."""

import pulumi

from kserve_intel.rules.capacity import capacity_output
from components import (IntelRuntimes, KServeOperator, LocalModelCaches, ModelDeployment, ModelNamespace, Monitoring,
                        NetworkIsolation, ServingDependencies, TrafficRoutes, check_ownership, images_output,
                        pin_images, read_stack_plan, verify_hub_access)

plan = read_stack_plan()  # every config error is reported here, before any resource
plan = check_ownership(plan)  # preview and up: `auto` resolved, nothing of anyone else's touched (or one refusal)
plan = pin_images(plan)  # preview and up: every image resolved to its digest (a missing tag stops here)
verify_hub_access(plan)  # `pulumi up` only: the token can read every gated model
dependencies = ServingDependencies("serving-dependencies", plan)  # Knative / KEDA when configured
operator = KServeOperator("kserve", plan, opts=pulumi.ResourceOptions(depends_on=[dependencies]))
after_operator = pulumi.ResourceOptions(depends_on=[operator, dependencies])
runtimes = IntelRuntimes("intel-runtimes", plan, opts=after_operator)
namespace = ModelNamespace("models", plan)
isolation = NetworkIsolation("network", plan, opts=pulumi.ResourceOptions(depends_on=[namespace]))
caches = LocalModelCaches("local-model-cache", plan, operator, opts=after_operator)  # when localModelCache.enabled
models = [
    ModelDeployment(m.name, plan, m, namespace, opts=pulumi.ResourceOptions(
        depends_on=[dependencies, operator, runtimes, isolation, *caches.needed_by(m)]))
    for m in plan.models
]
traffic = TrafficRoutes("traffic", plan, opts=pulumi.ResourceOptions(depends_on=[namespace, *models]))
monitoring = Monitoring("monitoring", plan, opts=pulumi.ResourceOptions(depends_on=[namespace]))

pulumi.export("platform", plan.profile.name)
pulumi.export("kserveVersion", plan.release.tag)
pulumi.export("deploymentMode", plan.deployment_mode)
pulumi.export("runtime", runtimes.runtime_name)
pulumi.export("runtimes", runtimes.summary)  # one per serving stack in use, with its models
pulumi.export("models", [m.summary() for m in models])
pulumi.export("routes", traffic.endpoints)
pulumi.export("monitoring", monitoring.summary())
pulumi.export("capacity", capacity_output(plan.models))  # per model: weights, KV cache, memory or HBM per card
pulumi.export("images", images_output(plan))  # every image the stack runs, and what the nodes pull
