"""`kserve`: how KServe itself is installed (or found)."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from ..catalog.kserve import SUPPORTED_TAGS, normalize_tag
from .values import DnsLabel, DnsSubdomain, Strict


DeploymentMode = Literal["RawDeployment", "Standard", "Serverless", "Knative"]


class KServeConfig(Strict):
    """How KServe itself is installed (or found)."""

    install: bool = True
    """Install cert-manager, the KServe CRDs and controller. `false` uses a KServe already in the cluster (then
    `certManager` and `certManagerVersion` must not be set).
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
    cert_manager: Literal["install", "existing"] = "install"
    """`install` cert-manager from its Helm chart, or `existing` to use the one in the cluster."""
    cert_manager_version: str | None = None
    """cert-manager chart version; defaults to what KServe's install scripts pair with the KServe version (v1.15.1 for
    0.13-0.14, v1.16.1 for 0.15, v1.17.0 from 0.16). Default: per KServe version.
    """
    ingress_domain: DnsSubdomain = "example.com"
    """Domain KServe uses for external URLs (`http://<model>-<namespace>.<domain>`)."""
    knative: Literal["install", "existing"] | None = None
    """Serverless only: `install` Knative Serving (Knative Operator Helm chart + a `KnativeServing`) at the version
    matched to KServe, or `existing` to use the cluster's. Default: `install`.
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
        return self.knative or "install"

    @property
    def networking_layer(self) -> str:
        return self.networking or "kourier"
