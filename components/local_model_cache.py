"""LocalModelCaches: KServe's node group, one LocalModelCache per cached model,
and the download jobs' Hugging Face credentials."""

from __future__ import annotations

import pulumi

from kserve_intel import naming
from kserve_intel.builders import local_model_cache as build
from kserve_intel.plan import ModelPlan, StackPlan

from .kserve_operator import KServeOperator
from .manifests import apply, child_options


class LocalModelCaches(pulumi.ComponentResource):
    """Pre-loads the weights of models with `localCache` onto the node group's local disks.

    Registers nothing unless `localModelCache.enabled`. Everything waits for
    the localmodel controller (its finalizers must be cleared on destroy); each
    cached model's InferenceService waits for its LocalModelCache, so KServe
    finds the cache when it first reconciles the InferenceService.
    """

    def __init__(self, name: str, plan: StackPlan, operator: KServeOperator,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kserve-intel:index:LocalModelCaches", name, None, opts)
        self.caches: dict[str, pulumi.Resource] = {}
        group = plan.local_model_cache
        if group is None:
            self.register_outputs({"enabled": False})
            return
        controller = [operator.local_model] if operator.local_model is not None else []
        needs: list[pulumi.Resource] = list(controller)
        if not plan.release.localmodel_chart_creates_job_namespace:
            needs.append(apply(build.job_namespace(plan), child_options(self, opts, *controller)))
        token = plan.config.hf_token
        if token is not None:
            needs.append(apply(
                build.job_token_secret(plan), child_options(self, opts, *needs),
                string_data={naming.HF_TOKEN_KEY: pulumi.Output.secret(token.get_secret_value())},
            ))
        if build.needs_download_container(plan):  # the token and the hfEndpoint mirror
            needs.append(apply(build.download_container(plan), child_options(self, opts, *needs)))
        self.node_group = apply(build.node_group(plan), child_options(self, opts, *needs))
        for model in plan.models:
            if model.local_cache:
                self.caches[model.name] = apply(
                    build.model_cache(plan, model), child_options(self, opts, self.node_group, *needs),
                )
        self.register_outputs({
            "enabled": True,
            "nodeGroup": group.name,
            "caches": {m.name: build.cache_name(plan, m) for m in plan.models if m.local_cache},
        })

    def needed_by(self, model: ModelPlan) -> list[pulumi.Resource]:
        """What the model's InferenceService must wait for: its LocalModelCache, if cached."""
        cache = self.caches.get(model.name)
        return [cache] if cache is not None else []
