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
    version: str = "v0.13.0"
    namespace: DnsLabel = "kserve"
    deployment_mode: DeploymentMode = "RawDeployment"
    cert_manager: Literal["install", "existing"] = "install"
    cert_manager_version: str | None = None
    ingress_domain: DnsSubdomain = "example.com"
    # Serverless only: install Knative Serving (operator + KnativeServing) or use the cluster's.
    knative: Literal["install", "existing"] | None = None
    # Serverless only: Knative's networking layer.
    networking: Literal["kourier", "istio"] | None = None

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
