"""Knative Serving for Serverless mode: the Knative Operator (Helm) and one
KnativeServing resource that configures Serving, its networking layer and the
feature flags our vLLM pods need.

There is no official Knative Serving Helm chart; KServe's own v0.20 install
scripts use the operator chart plus a `KnativeServing` CR, as we do. No CRD of
`operator.knative.dev` is vendored, so the KnativeServing object is not
schema-validated offline (see docs/serverless.md).
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..catalog.kserve import KNATIVE_OPERATOR_REPOSITORY
from ..plan import StackPlan, model_clock
from .helm import HelmRelease, chart_release, namespace

OPERATOR_NAMESPACE = "knative-operator"
DOMAIN_TEMPLATE = "{{.Name}}.{{.Namespace}}.{{.Domain}}"
SERVING_NAMESPACE = "knative-serving"
INGRESS_CLASSES = {
    "kourier": "kourier.ingress.networking.knative.dev",
    "istio": "istio.ingress.networking.knative.dev",
}
# Pod fields our predictor uses that Knative only accepts behind a feature flag
# (names from the field descriptions of the Knative Service CRD).
FEATURE_FLAGS: dict[str, str] = {
    "kubernetes.podspec-securitycontext": "pod securityContext (non-root UID, fsGroup, seccomp)",
    "kubernetes.podspec-volumes-emptydir": "/dev/shm and /tmp emptyDir volumes",
    "kubernetes.podspec-persistent-volume-claim": "the model-cache claim",
    "kubernetes.podspec-persistent-volume-write": "writing the cache to the claim",
    "kubernetes.podspec-nodeselector": "the platform node selector",
    "kubernetes.podspec-tolerations": "Gaudi taint tolerations",
    "kubernetes.podspec-runtimeclassname": "runtimeClassName habana",
    "kubernetes.containerspec-addcapabilities": "Gaudi's IPC_LOCK, SYS_NICE, SYS_PTRACE; vllm-0.33's SYS_NICE",
    "kubernetes.podspec-init-containers": "KServe's storage initializer for LoRA adapters (storageUris)",
}


def feature_flags(plan: StackPlan) -> list[str]:
    """The flags this platform's pods need, and no more."""
    profile = plan.profile
    skip = set()
    if not profile.runtime_class_name:
        skip.add("kubernetes.podspec-runtimeclassname")
    if not plan.capabilities:
        skip.add("kubernetes.containerspec-addcapabilities")
    if not profile.tolerations:
        skip.add("kubernetes.podspec-tolerations")
    if not plan.config.storage.enabled:
        skip |= {"kubernetes.podspec-persistent-volume-claim", "kubernetes.podspec-persistent-volume-write"}
    if not any(m.lora is not None and m.lora.via_storage_uris for m in plan.models):
        skip.add("kubernetes.podspec-init-containers")
    return [flag for flag in FEATURE_FLAGS if flag not in skip]


def operator_namespace() -> dict[str, Any]:
    return namespace(OPERATOR_NAMESPACE, "knative-operator")


def serving_namespace() -> dict[str, Any]:
    return namespace(SERVING_NAMESPACE, "knative-serving")


def operator_release(plan: StackPlan) -> HelmRelease:
    return chart_release(
        plan, "knative-operator", KNATIVE_OPERATOR_REPOSITORY,
        version=plan.release.knative_operator_chart_version,
        namespace=OPERATOR_NAMESPACE,
    )


def progress_deadline(plan: StackPlan) -> str:
    """How long Knative lets a revision's pod become ready before giving up.

    Knative's default (600s) kills a loading LLM pod (kserve/kserve#3795): the longest load window of the
    stack's models (plan.model_clock); each InferenceService also carries its own as an annotation.
    """
    clocks = [model_clock(plan), *(model_clock(plan, m) for m in plan.models)]
    return max(clocks, key=lambda c: c.load_minutes).progress_deadline


def knative_serving(plan: StackPlan) -> dict[str, Any]:
    kserve = plan.config.kserve
    layer = kserve.networking_layer
    return {
        "apiVersion": "operator.knative.dev/v1beta1",
        "kind": "KnativeServing",
        "metadata": {
            "name": "knative-serving",
            "namespace": SERVING_NAMESPACE,
            "labels": naming.labels("knative-serving", "knative-serving"),
            # pulumi-kubernetes does not await custom resources unless asked.
            "annotations": {"pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "900"},
        },
        "spec": {
            "version": plan.release.knative_serving_version,
            "ingress": {layer: {"enabled": True}},
            "config": {
                # Knative's default domain template, stated: with Kourier a model's URL is its
                # predictor's route <model>-predictor.<namespace>.<domain> (StackPlan.external_url).
                "network": {"ingress-class": INGRESS_CLASSES[layer], "domain-template": DOMAIN_TEMPLATE},
                "domain": {kserve.ingress_domain: ""},
                "deployment": {"progress-deadline": progress_deadline(plan)},
                "features": {flag: "enabled" for flag in feature_flags(plan)},
            },
        },
    }
