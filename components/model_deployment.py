"""ModelDeployment: one model's cache claim and InferenceService."""

from __future__ import annotations

import pulumi

from kserve_intel.builders.autoscaling import scaled_object
from kserve_intel.builders.model import cache_claim, inference_service, not_ready_message
from kserve_intel.builders.multinode import prefetch_job
from kserve_intel.plan import ModelPlan, StackPlan, delete_timeout_minutes, model_clock, served_by

from .manifests import apply, child_options
from .model_namespace import ModelNamespace


class ModelDeployment(pulumi.ComponentResource):
    """Serves one model through the platform's Intel vLLM runtime.

    Models never depend on each other, so N models deploy in parallel.
    """

    def __init__(
        self,
        name: str,
        plan: StackPlan,
        model: ModelPlan,
        namespace: ModelNamespace,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("kserve-intel:index:ModelDeployment", name, None, opts)
        clock = model_clock(plan, model)  # every wait of this model, from its readyTimeoutMinutes
        needs: list[pulumi.Resource] = [namespace]
        if namespace.s3_secret is not None:
            needs.append(namespace.s3_secret)  # the storage initializer reads it at pod start
        if plan.config.storage.enabled:
            # Retained by default: `pulumi destroy`, or removing the model from
            # `models`, forgets the claim instead of deleting the weights.
            self.cache = apply(
                _skip_await(cache_claim(plan, model)),
                child_options(self, opts, namespace, retain_on_delete=plan.config.storage.retain_on_destroy),
            )
            needs.append(self.cache)
        if model.multinode:
            # KServe's multi-node predictor reads the weights from the claim: download them first.
            waits = f"{clock.weights_await_minutes}m"
            self.weights = apply(
                prefetch_job(plan, model, with_token=namespace.has_token),
                child_options(self, opts, *needs, custom_timeouts=pulumi.CustomTimeouts(create=waits, update=waits)),
            )
            needs.append(self.weights)
        timeout = f"{clock.ready_minutes}m"
        self.inference_service = apply(
            inference_service(plan, model, with_token=namespace.has_token),
            child_options(
                self, opts, *needs,
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout,
                                                      delete=f"{delete_timeout_minutes(plan)}m"),
                hooks=pulumi.ResourceHookBinding(on_error=[_explain_failure(
                    model, None if plan.config.runtimes.configure_intel else served_by(plan, model))]),
            ),
        )
        # KEDA before KServe v0.15: our ScaledObject drives the predictor Deployment.
        self.scaled_object = None
        autoscaler = scaled_object(plan, model)
        if autoscaler is not None:
            self.scaled_object = apply(autoscaler, child_options(self, opts, self.inference_service))
        self.model = model
        self.runtime_name = served_by(plan, model)
        self.external_url = plan.external_url(model)
        self.register_outputs({
            "name": model.name,
            "inClusterUrl": model.in_cluster_url,
            "openaiBaseUrl": model.openai_base_url,
            "externalUrl": self.external_url,
        })

    def summary(self) -> dict:
        """The stack output entry a user acts on."""
        summary = {
            "id": self.model.id,
            "name": self.model.name,
            "servedModelName": self.model.served_model_name,
            "namespace": self.model.namespace,
            "externalUrl": self.external_url,
            "inClusterUrl": self.model.in_cluster_url,
            "openaiBaseUrl": self.model.openai_base_url,
            "runtime": self.runtime_name,
            "servingStack": self.model.serving_stack.name,
        }
        if self.model.lora is not None:
            # Each adapter is a model of its own for clients: same base URL, `model: <servedModelName>`.
            summary["adapters"] = [a.summary(self.model.openai_base_url) for a in self.model.lora.adapters]
        if self.model.source is not None:
            # What the registry resolved: `source.resolved` is what registry.resolve false takes back.
            summary["source"] = self.model.source.summary()
            if self.model.canary is not None and self.model.canary.source is not None:
                summary["canarySource"] = self.model.canary.source.summary()
        return summary


def _explain_failure(model: ModelPlan, external_runtime: str | None = None) -> pulumi.ErrorHook:
    """An error hook that logs, beside the provider's error, which model failed, why and what to run next.

    The provider's own text (pulumi-kubernetes 4.25.0, pkg/await) names the object and says "timed out
    waiting for the condition"; this adds the model, its timeout key and the kubectl commands. It never
    retries. It runs where the program runs (`up`, and `destroy --run-program`); a plain `pulumi destroy`
    runs no program, so a stuck delete shows the provider's text only (its finalizer warning and timeout,
    tests/e2e/test_faults.py), and docs/troubleshooting.md says what to run. One per model: its name is
    unique in the stack because model names are.
    """
    def explain(args: pulumi.ErrorHookArgs) -> bool:
        message = not_ready_message(model, args.failed_operation, list(args.errors), external_runtime)
        if message:
            pulumi.log.error(message)
        return False

    return pulumi.ErrorHook(f"kserve-intel-explain-{model.name}", explain)


def _skip_await(manifest: dict) -> dict:
    # With a WaitForFirstConsumer storage class the claim stays Pending until
    # the predictor pod exists, which itself waits on the claim.
    meta = manifest["metadata"]
    meta["annotations"] = {**meta.get("annotations", {}), "pulumi.com/skipAwait": "true"}
    return manifest
