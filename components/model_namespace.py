"""ModelNamespace: where the models live, with the Hugging Face token Secret."""

from __future__ import annotations

import pulumi

from kserve_intel import naming
from kserve_intel.builders.downloads import needs_storage_container, storage_container
from kserve_intel.builders.identity import model_service_account
from kserve_intel.builders.model import hf_token_secret, model_namespace
from kserve_intel.builders.registry import needs_s3_secret, s3_secret, s3_secret_data
from kserve_intel.plan import StackPlan

from .manifests import apply


class ModelNamespace(pulumi.ComponentResource):
    """The models' namespace and the token Secret every model reads HF_TOKEN from."""

    token_secret: pulumi.Resource | None

    def __init__(self, name: str, plan: StackPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("kserve-intel:index:ModelNamespace", name, None, opts)
        self.name = plan.config.namespace
        # Deleting a namespace deletes every claim in it: the namespace is kept
        # whenever the model caches are.
        storage = plan.config.storage
        self.namespace = apply(
            model_namespace(plan),
            pulumi.ResourceOptions(parent=self, retain_on_delete=storage.enabled and storage.retain_on_destroy),
        )
        # The vLLM pods' own identity: no roles, no token mounted.
        self.service_account = apply(
            model_service_account(plan), pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        self.token_secret = None
        token = plan.config.hf_token
        if token is not None:
            self.token_secret = apply(
                hf_token_secret(plan),
                pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
                string_data={naming.HF_TOKEN_KEY: pulumi.Output.secret(token.get_secret_value())},
            )
        # Registry models on s3://: the storage initializer's keys (listed on the ServiceAccount).
        self.s3_secret = None
        if needs_s3_secret(plan):
            self.s3_secret = apply(
                s3_secret(plan),
                pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
                string_data={k: pulumi.Output.secret(v) for k, v in s3_secret_data(plan).items()},
            )
        # KServe v0.20+ with an hfEndpoint mirror: the storage initializer of hub adapters, with HF_ENDPOINT.
        self.storage_container = None
        if needs_storage_container(plan):
            self.storage_container = apply(storage_container(plan), pulumi.ResourceOptions(parent=self))
        self.register_outputs({"namespace": self.name, "hasToken": token is not None})

    @property
    def has_token(self) -> bool:
        return self.token_secret is not None
