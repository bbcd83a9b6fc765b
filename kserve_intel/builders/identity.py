"""The dedicated identity of the vLLM pods.

vLLM never talks to the Kubernetes API, so the ServiceAccount has no roles and
no token is mounted: `automountServiceAccountToken: false` on the account and
on every predictor pod.
"""

from __future__ import annotations

from typing import Any

from .. import naming
from ..plan import StackPlan
from .images import pull_secret_refs
from .registry import attach_hf_token, attach_s3_secret


def model_service_account(plan: StackPlan) -> dict[str, Any]:
    # Registry models and adapters: KServe's storage initializer finds the S3 keys through this account;
    # gated LoRA adapters on storageUris: the Hugging Face token too. `images.credentials`: the pull Secret, which
    # the API server adds to every predictor pod of the account (runtime, storage initializer, workers).
    account = attach_hf_token(plan, attach_s3_secret(plan, {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": naming.MODEL_SERVICE_ACCOUNT,
            "namespace": plan.config.namespace,
            "labels": naming.labels(naming.MODEL_SERVICE_ACCOUNT, "identity"),
        },
        "automountServiceAccountToken": False,
    }))
    if pull_secret_refs(plan):
        account["imagePullSecrets"] = pull_secret_refs(plan)
    return account
