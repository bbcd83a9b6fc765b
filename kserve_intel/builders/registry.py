"""Weights from the model registry: the S3 credential Secret, its ServiceAccount
link, and the InferenceService fields (storageUri, what was resolved).

KServe's storage initializer (an init container of the predictor pod) downloads
`storageUri` to /mnt/models. For s3:// it takes AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY from a Secret listed in the predictor ServiceAccount's
`secrets`, and the endpoint, https, region and TLS settings from that Secret's
`serving.kserve.io/s3-*` annotations (pkg/credentials/s3, v0.13-v0.20).
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..plan import ModelPlan, StackPlan
from ..rules.registry import ANNOTATION_PREFIX, MOUNTED_DIR

S3_SECRET = "kserve-intel-registry-s3"
ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
CANARY_ANNOTATION_PREFIX = "kserve-intel/canary-registry-"


def _sources(plan: StackPlan):
    for model in plan.models:
        if model.source is not None:
            yield model.source
        if model.canary is not None and model.canary.source is not None:
            yield model.canary.source
        # LoRA adapters from the registry: the storage initializer reads them with the same keys.
        for lora in (model.lora, model.canary.lora if model.canary is not None else None):
            if lora is not None:
                yield from (a.source for a in lora.adapters if a.source is not None)


def needs_s3_secret(plan: StackPlan) -> bool:
    """Whether some model is fetched from s3:// with keys from the config."""
    s3 = plan.config.registry.s3
    return s3 is not None and s3.has_keys and any(s.storage_uri.startswith("s3://") for s in _sources(plan))


def s3_secret(plan: StackPlan) -> dict[str, Any]:
    """The Secret without its data; the component adds the keys as Pulumi secrets."""
    s3 = plan.config.registry.s3
    annotations = {
        "serving.kserve.io/s3-usehttps": "1" if s3.use_https else "0",
        "serving.kserve.io/s3-verifyssl": "1" if s3.verify_ssl else "0",
    }
    if s3.endpoint:
        annotations["serving.kserve.io/s3-endpoint"] = s3.endpoint
    if s3.region:
        annotations["serving.kserve.io/s3-region"] = s3.region
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": S3_SECRET,
            "namespace": plan.config.namespace,
            "labels": naming.labels(S3_SECRET, "credentials"),
            "annotations": annotations,
        },
        "type": "Opaque",
    }


def s3_secret_data(plan: StackPlan) -> dict[str, str]:
    """The key names and plain values; the component wraps them as Pulumi secrets."""
    s3 = plan.config.registry.s3
    return {ACCESS_KEY_ID: s3.access_key_id.get_secret_value(), SECRET_ACCESS_KEY: s3.secret_access_key.get_secret_value()}


def attach_s3_secret(plan: StackPlan, service_account: dict[str, Any]) -> dict[str, Any]:
    """List the S3 Secret on the predictor's ServiceAccount, where KServe's credential builder looks."""
    if needs_s3_secret(plan):
        service_account.setdefault("secrets", []).append({"name": S3_SECRET})
    return service_account


def needs_hf_token_on_storage_initializer(plan: StackPlan) -> bool:
    """Whether KServe's storage initializer downloads a gated LoRA adapter (hf://) and so needs HF_TOKEN."""
    if plan.config.hf_token is None:
        return False
    for model in plan.models:
        for lora in (model.lora, model.canary.lora if model.canary is not None else None):
            if lora is not None and lora.gated_via_storage_uris:
                return True
    return False


def attach_hf_token(plan: StackPlan, service_account: dict[str, Any]) -> dict[str, Any]:
    """List the hf-token Secret on the predictor's ServiceAccount for gated adapters on storageUris.

    KServe v0.16.0-v0.20.0 `mountSecretCredential` (pkg/credentials/service_account_credentials.go) gives
    the storage-initializer container an `HF_TOKEN` env from a listed Secret that holds the key HF_TOKEN
    (pkg/credentials/hf/hf_secret.go); its hf:// download (`snapshot_download`) reads HF_TOKEN.
    """
    if needs_hf_token_on_storage_initializer(plan):
        service_account.setdefault("secrets", []).append({"name": naming.HF_TOKEN_SECRET})
    return service_account


def apply_registry(plan: StackPlan, model: ModelPlan, isvc: dict[str, Any]) -> dict[str, Any]:
    """storageUri from the resolved version(s), and the resolution as annotations (a moved alias is a diff)."""
    source = model.source
    if source is None:
        return isvc
    spec = isvc["spec"]
    annotations = isvc["metadata"]["annotations"]
    annotations.update(source.annotations(ANNOTATION_PREFIX))
    canary = model.canary
    predictor_uri = source.storage_uri
    if canary is not None and canary.source is not None:
        annotations.update(canary.source.annotations(CANARY_ANNOTATION_PREFIX))
        if plan.config.kserve.serverless and canary.traffic_percent > 0:
            # The predictor carries the canary settings; Knative keeps the last rolled-out revision.
            predictor_uri = canary.source.storage_uri
        for item in spec.get("canary", []):
            item["predictor"]["model"]["storageUri"] = canary.source.storage_uri
    spec["predictor"]["model"]["storageUri"] = predictor_uri
    # LoRA adapters on storageUris (KServe v0.16+): KServe refuses model.storageUri beside them
    # (pkg/apis/serving/v1beta1/inference_service_validation.go validateMultipleStorageURIs), so the base
    # joins the list at /mnt/models, where vLLM's args point (mounted_args); one storage initializer
    # downloads all (mount paths /mnt/models and /mnt/lora/* share the parent /mnt).
    for predictor in [spec["predictor"], *(item["predictor"] for item in spec.get("canary", []))]:
        if "storageUris" in predictor:
            base = {"uri": predictor["model"].pop("storageUri"), "mountPath": MOUNTED_DIR}
            predictor["storageUris"] = [base, *predictor["storageUris"]]
    return isvc
