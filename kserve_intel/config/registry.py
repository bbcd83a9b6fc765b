"""`registry` and the `source` keys: weights from a registered model in MLflow (rules/registry.py).

    registry: {trackingUri: https://mlflow.example.com, artifactsDestination: s3://mlflow/artifacts, s3: {...}}
    models:
      - id: meta-llama/Llama-3.1-8B-Instruct      # the base: Intel's tuned settings, the default name
        source: {registeredModel: support-bot, alias: champion}
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr

from .values import HTTP_URL, Strict

# Seconds a call to the MLflow server may take (online/mlflow.py).
DEFAULT_TIMEOUT_SECONDS = 10.0


# Schemes KServe's storage initializer fetches a directory from (v0.13-v0.20). Plain
# http(s) is one file or an archive, so only Azure blob URLs qualify among https.
FETCHABLE_SCHEMES = ("s3", "gs", "hdfs", "webhdfs")


_AZURE_BLOB = re.compile(r"^https://[a-z0-9]+\.blob\.core\.windows\.net/")


FETCHABLE_TEXT = "s3://, gs://, hdfs://, webhdfs://, https://<account>.blob.core.windows.net/"


# MLflow names: registered models allow most characters; aliases are [\w-]+ and not "latest" / "v<digits>".
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


_ENDPOINT = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")


def _version_text(value: Any) -> Any:
    # `version: 3` arrives as a number from YAML; MLflow versions are strings of digits.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _version(value: str) -> str:
    if not value.isdigit() or value.startswith("0"):
        raise ValueError("must be an MLflow model version: a whole number from 1, such as 3")
    return value


def _alias(value: str) -> str:
    if not _ALIAS.match(value) or value.lower() == "latest" or re.match(r"^[vV]\d+$", value):
        raise ValueError("must be an MLflow alias such as champion: letters, digits, '_' and '-' "
                         "(not 'latest' nor v<number>)")
    return value


def _registered_model(value: str) -> str:
    if not value.strip() or len(value) > 256 or "/" in value or any(c in value for c in "\n\r\t"):
        raise ValueError("must be the name of a registered model in MLflow (no '/', at most 256 characters)")
    return value


def _http_url(value: str) -> str:
    if not HTTP_URL.match(value):
        raise ValueError("must be the http(s) URL of the MLflow tracking server such as http://mlflow.mlflow.svc:5000")
    return value.rstrip("/")


def _store_uri(value: str) -> str:
    if not fetchable(value):
        raise ValueError(f"must be a URI KServe's storage initializer can read ({FETCHABLE_TEXT}), "
                         "such as s3://mlflow/artifacts: the server's --artifacts-destination")
    return value.rstrip("/")


def _endpoint(value: str) -> str:
    if not _ENDPOINT.match(value):
        raise ValueError("must be host[:port] of the S3 API without a scheme, such as minio.minio.svc:9000 "
                         "(the scheme comes from useHttps)")
    return value


Version = Annotated[str, BeforeValidator(_version_text), AfterValidator(_version)]


Alias = Annotated[str, AfterValidator(_alias)]


RegisteredModel = Annotated[str, AfterValidator(_registered_model)]


class ResolvedConfig(Strict):
    """What the registry answered last time, for `registry.resolve: false` (from the stack output)."""

    version: Version
    uri: Annotated[str, AfterValidator(_store_uri)]
    run_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class RegistrySource(Strict):
    """Weights from a registered model in MLflow, by alias or by version.

    Shaped for reuse: a model's `source`, a canary's `source` (registeredModel
    defaults to the model's), and later a LoRA adapter's.
    """

    registered_model: RegisteredModel | None = None
    alias: Alias | None = None
    version: Version | None = None
    resolved: ResolvedConfig | None = None

    @property
    def wanted(self) -> str:
        return f"alias {self.alias!r}" if self.alias else f"version {self.version}"


class RegistryS3Config(Strict):
    """How KServe's storage initializer reads an s3:// store (KServe's S3 Secret conventions)."""

    endpoint: Annotated[str, AfterValidator(_endpoint)] | None = None
    use_https: bool = True
    region: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")
    verify_ssl: bool = True
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None

    @property
    def has_keys(self) -> bool:
        return self.access_key_id is not None and self.secret_access_key is not None


class RegistryConfig(Strict):
    """The MLflow tracking server the models' `source` keys refer to."""

    # false: air-gapped previews; no call, `models[].source.resolved` is used.
    resolve: bool = True
    tracking_uri: Annotated[str, AfterValidator(_http_url)] | None = None
    # Bearer token, or basic auth (username + password); secrets.
    token: SecretStr | None = None
    username: str | None = Field(default=None, min_length=1, max_length=256)
    password: SecretStr | None = None
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=300)
    # The server's --artifacts-destination: what `mlflow-artifacts:/<path>` is stored under.
    artifacts_destination: Annotated[str, AfterValidator(_store_uri)] | None = None
    s3: RegistryS3Config | None = None


# Nested registry fields whose values are never echoed in messages (see config.SECRET_FIELDS).
SECRET_FIELDS = frozenset({"token", "password", "accessKeyId", "secretAccessKey"})


def fetchable(uri: str) -> bool:
    """Whether KServe's storage initializer can download a directory from `uri`."""
    scheme = urlsplit(uri).scheme
    if scheme in FETCHABLE_SCHEMES:
        return bool(urlsplit(uri).netloc)
    return bool(_AZURE_BLOB.match(uri))
