"""`kserve`: how KServe itself is installed (or found)."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from ..catalog.kserve import SUPPORTED_TAGS, normalize_tag
from .values import DnsLabel, DnsSubdomain, Strict


DeploymentMode = Literal["RawDeployment", "Standard", "Serverless", "Knative"]


class KServeConfig(Strict):
    """How KServe itself is installed (or found)."""

    install: bool | Literal["auto"] = "auto"
    """Install the KServe CRDs and controller (`true`), use a KServe already in the cluster (`false`; then
    `certManager` and `certManagerVersion` must not be set), or `auto`: use the cluster's KServe when `preview`/`up`
    find one (its CRD, controller or `inferenceservice-config`; at another version than `version` it is refused),
    install it otherwise (or when this stack installed it). The choice is printed; see
    [shared clusters](shared-clusters.md).
    """
    version: str = "v0.13.0"
    """KServe release: v0.13.0, v0.13.1, v0.14.0, v0.14.1, v0.15.0-v0.15.2, v0.16.0, v0.17.0, v0.17.1, v0.18.0,
    v0.18.1, v0.19.0, v0.20.0 (the `v` is optional). Chart names, values and mode names follow it.
    """
    namespace: DnsLabel = "kserve"
    """Namespace of the KServe controller. Models may not live here."""
    deployment_mode: DeploymentMode = "RawDeployment"
    """`RawDeployment` (alias `Standard`, KServe's name from v0.16): plain Deployments, no Knative. `Serverless` (alias
    `Knative`): Knative Serving revisions, scale to zero, canary by revision (see [Serverless mode](serverless.md)).
    """
    cert_manager: Literal["install", "existing", "auto"] = "auto"
    """When this stack installs KServe: `install` cert-manager from its Helm chart, `existing` to use the one in the
    cluster, or `auto`: `existing` when the cluster has cert-manager (CRDs serving `cert-manager.io/v1`, controller
    and webhook available), `install` when it has none (or this stack installed it); a partial cert-manager is
    refused with what is missing.
    """
    cert_manager_version: str | None = None
    """cert-manager chart version; defaults to what KServe's install scripts pair with the KServe version (v1.15.1 for
    0.13-0.14, v1.16.1 for 0.15, v1.17.0 from 0.16). Default: per KServe version.
    """
    ingress_domain: DnsSubdomain = "example.com"
    """Domain KServe uses for external URLs (`http://<model>-<namespace>.<domain>`)."""
    knative: Literal["install", "existing", "auto"] | None = None
    """Serverless only: `install` Knative Serving (Knative Operator Helm chart + a `KnativeServing`) at the version
    matched to KServe, `existing` to use the cluster's, or `auto`: `existing` when the cluster serves
    `serving.knative.dev` with its controller, `install` otherwise. Default: `auto`.
    """
    networking: Literal["kourier", "istio"] | None = None
    """Serverless only, with `knative: install`: Knative's networking layer, `kourier` (installed by the operator) or
    `istio` (an Istio already in the cluster). Default: `kourier`.
    """

    @field_validator("version")
    @classmethod
    def _supported(cls, value: str) -> str:
        try:
            tag = normalize_tag(value)
        except ValueError:
            tag = None
        if tag not in SUPPORTED_TAGS:
            raise ValueError("unsupported KServe version; supported: " + ", ".join(SUPPORTED_TAGS))
        return tag

    @field_validator("cert_manager_version")
    @classmethod
    def _cm_version(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_tag(value)
        except ValueError:
            raise ValueError("must be a cert-manager release such as v1.17.0") from None

    @property
    def serverless(self) -> bool:
        return self.deployment_mode in ("Serverless", "Knative")

    @property
    def knative_source(self) -> str:
        return self.knative or "auto"

    @property
    def networking_layer(self) -> str:
        return self.networking or "kourier"
