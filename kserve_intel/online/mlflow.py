"""The MLflow REST API, read-only: what rules/registry.py asks the tracking server during preview and up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from ..config.registry import DEFAULT_TIMEOUT_SECONDS, RegistryConfig

API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"


class RegistryUnreachable(Exception):
    """The tracking server could not be asked at all."""


@dataclass
class MlflowApi:
    """Read-only calls to MLflow's REST API."""

    tracking_uri: str
    auth: tuple[str, str] | None = None
    token: str | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    session: requests.Session = field(default_factory=requests.Session)

    def get(self, endpoint: str, **params: Any) -> tuple[int, dict[str, Any]]:
        url = self.tracking_uri + endpoint
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = self.session.get(url, params=params, headers=headers, auth=self.auth, timeout=self.timeout,
                                        allow_redirects=False)
        except requests.exceptions.Timeout:
            raise RegistryUnreachable(f"no answer from {self.tracking_uri} within {self.timeout:g} s") from None
        except requests.exceptions.RequestException as error:
            raise RegistryUnreachable(f"cannot connect to {self.tracking_uri} ({type(error).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, body if isinstance(body, dict) else {}


def connect(registry: RegistryConfig) -> MlflowApi:
    auth = None
    if registry.username is not None and registry.password is not None:
        auth = (registry.username, registry.password.get_secret_value())
    token = registry.token.get_secret_value() if registry.token is not None else None
    return MlflowApi(registry.tracking_uri or "", auth=auth, token=token, timeout=registry.timeout_seconds)
