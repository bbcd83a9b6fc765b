"""TrafficRoutes: how clients reach the models (Ingress, APISIX, Gateway API, GenAI gateway)."""

from __future__ import annotations

from typing import Any

import pulumi

from kserve_intel import naming
from kserve_intel.builders import traffic as build
from kserve_intel.plan import StackPlan

from .manifests import apply, child_options


class TrafficRoutes(pulumi.ComponentResource):
    """One route per model and per enabled path, plus the stack-wide objects they use.

    Created after the models are Ready (callers pass them as dependencies), so a
    route never points at a model that is still loading, and `pulumi destroy`
    closes the routes before it removes the models.
    """

    def __init__(self, name: str, plan: StackPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kserve-intel:index:TrafficRoutes", name, None, opts)
        config = plan.config
        self.routes: list[pulumi.Resource] = []
        needs: list[pulumi.Resource] = []
        if config.apisix.enabled and config.apisix.auth is not None:
            secret = config.apisix.auth.keycloak.client_secret.get_secret_value()
            needs.append(apply(
                build.oidc_client_secret(plan),
                child_options(self, opts),
                string_data={naming.OIDC_SECRET_KEY: pulumi.Output.secret(secret)},
            ))
        for model in plan.models:
            manifests: list[dict[str, Any]] = []
            if config.ingress.enabled:
                manifests += build.ingresses(plan, model)
            if config.apisix.enabled:
                manifests.append(build.apisix_route(plan, model))
            if config.gateway_api.enabled and config.gateway_api.routes == "stack":
                manifests.append(build.http_route(plan, model))
            self.routes += [apply(m, child_options(self, opts, *needs)) for m in manifests]
        self.model_list = None
        if config.genai_gateway.enabled:
            self.model_list = apply(build.genai_gateway_models(plan), child_options(self, opts))
        self.endpoints = [
            {"name": model.name, **build.public_endpoints(plan, model)} for model in plan.models
        ]
        self.register_outputs({"routes": self.endpoints})
