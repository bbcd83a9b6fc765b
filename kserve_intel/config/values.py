"""The base of every stack-config model, and the value types the config sections share (one copy each).

Each validator raises a `ValueError` whose text is the "what is allowed" half of the message the user
sees (load.py adds the key path and the value).
"""

from __future__ import annotations

import ipaddress
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from ..k8s_names import dns1035_label, dns1123_subdomain, label_value, qualified_name

HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
GIT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never fall back to a default silently."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=False,
        frozen=True,
        validate_default=True,
        # The string under each field is its description: the JSON schema's and docs/configuration.md's.
        use_attribute_docstrings=True,
    )

    def explicitly_set(self, field: str) -> bool:
        return field in self.model_fields_set

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML `true` is not the number 1: a count, size or timeout given as a boolean is refused."""
        if isinstance(value, bool) and info.field_name and _numeric_only(cls.model_fields[info.field_name].annotation):
            raise ValueError("must be a number, not true/false")
        return value


def _numeric_only(annotation: Any) -> bool:
    """Whether a field takes numbers and no booleans (int, float, int | None, Annotated[int, ...])."""
    if get_origin(annotation) is Annotated:
        return _numeric_only(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return bool(members) and bool not in members and any(_numeric_only(a) for a in members) and \
            all(_numeric_only(a) or a is str for a in members)
    return annotation in (int, float)


_QUANTITY = re.compile(r"^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$")


# Prometheus durations as the Prometheus Operator CRDs accept them (30s, 5m, 1h30m).
_DURATION = re.compile(r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")


_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$")


def check_quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(
            "must be a Kubernetes quantity such as 100Gi, 512Mi, 16 or 500m "
            "(suffixes Ki Mi Gi Ti Pi Ei, k M G T P E, m)"
        )
    return value


def check_dns_label(value: str) -> str:
    if dns1035_label(value):
        raise ValueError(
            "must be a DNS-1123 label: at most 63 characters, lowercase letters, "
            "digits and '-', starting with a letter and ending with a letter or digit"
        )
    return value


def check_dns_subdomain(value: str) -> str:
    if dns1123_subdomain(value):
        raise ValueError("must be a DNS name such as example.com (lowercase letters, digits, '-' and '.')")
    return value


def check_duration(value: str) -> str:
    if not value or value == "0" or not _DURATION.match(value):
        raise ValueError("must be a Prometheus duration such as 30s, 5m or 1h30m (units ms s m h d w y)")
    return value


def duration_seconds(value: str) -> float:
    """Seconds in a Prometheus duration (already validated)."""
    units = {"y": 31_536_000, "w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1, "ms": 0.001}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|y|w|d|h|m|s)", value))


def check_image(value: str) -> str:
    if not _IMAGE.match(value):
        raise ValueError("must be an image reference such as registry/repo:tag or registry/repo@sha256:<digest>")
    last = value.rsplit("/", 1)[-1]
    if "@sha256:" not in value and (":" not in last or last.endswith(":latest")):
        raise ValueError("must be pinned by a tag other than 'latest' or by digest, so every node runs the same image")
    return value


def check_hf_id(value: str, what: str = "model id '<organisation>/<model>' such as meta-llama/Llama-3.1-8B-Instruct") -> str:
    """A Hugging Face repository id (a model's, or an adapter's: `what` names it in the message)."""
    if len(value) > 96 or not HF_ID.match(value):
        raise ValueError(f"must be a Hugging Face {what}")
    return value


_REVISION_SYNTAX = " such as v1.0 (letters, digits, '.', '_', '-', '/'; at most 100 characters)"


def check_revision(value: str, syntax: str = _REVISION_SYNTAX) -> str:
    """A Hugging Face commit (40 hex digits) or a tag/branch name (of a model or an adapter)."""
    if COMMIT.match(value):
        return value
    if not GIT_REF.match(value) or ".." in value or value.endswith(("/", ".lock", ".")):
        raise ValueError(f"must be a Hugging Face commit (40 lowercase hex digits) or a tag/branch name{syntax}")
    return value


def check_http_url(value: str) -> str:
    if not HTTP_URL.match(value):
        raise ValueError("must be an http(s) URL such as http://prometheus-operated.monitoring.svc:9090")
    return value


def check_label_map(value: dict[str, str]) -> dict[str, str]:
    for key, item in value.items():
        if qualified_name(key):
            raise ValueError(f"{key!r} is not a valid Kubernetes label key ({qualified_name(key)})")
        if label_value(item):
            raise ValueError(f"{item!r} (for {key}) is not a valid label value: at most 63 letters, digits, '-', '_' or '.'")
    return value


def _number_as_text(value: Any) -> Any:
    # YAML `cpu: 32` arrives as a number; Kubernetes quantities are strings.
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def check_absolute_path(value: str) -> str:
    if not value.startswith("/") or value.rstrip("/") == "" or "//" in value or "/../" in value + "/" \
            or any(c.isspace() for c in value) or len(value) > 255:
        raise ValueError("must be an absolute directory path on the nodes such as /mnt/models (not /)")
    return value.rstrip("/")


_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s]*)?$")


def check_host(value: str) -> str:
    if value and (len(value) > 253 or not _HOST.match(value)):
        raise ValueError("must be a DNS host name such as llm.example.com (a leading '*.' is allowed), or empty")
    return value


def check_url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError("must be an http:// or https:// URL such as https://huggingface.co")
    return value.rstrip("/")


def check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("must be a CIDR block such as 10.0.0.0/8 (host bits zero)") from None
    return value


_UNITS = {
    "": 1, "m": 0.001, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


def quantity_bytes(quantity: str) -> float:
    """Value of a (validated) Kubernetes quantity: '1Ti' -> 1099511627776."""
    match = re.match(r"^(\d+(?:\.\d+)?|\.\d+)([eE][+-]?\d+|[A-Za-z]*)$", quantity)
    if not match:
        raise ValueError(f"not a quantity: {quantity!r}")
    number, suffix = match.groups()
    if suffix[:1] in ("e", "E"):
        return float(number + suffix)
    return float(number) * _UNITS[suffix]


Quantity = Annotated[str, BeforeValidator(_number_as_text), AfterValidator(check_quantity)]
DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(check_dns_subdomain)]
Image = Annotated[str, AfterValidator(check_image)]
HuggingFaceId = Annotated[str, AfterValidator(check_hf_id)]
LabelMap = Annotated[dict[str, str], AfterValidator(check_label_map)]
Duration = Annotated[str, AfterValidator(check_duration)]
Revision = Annotated[str, AfterValidator(check_revision)]
HttpUrl = Annotated[str, AfterValidator(check_http_url)]
AbsolutePath = Annotated[str, AfterValidator(check_absolute_path)]
Host = Annotated[str, AfterValidator(check_host)]
Url = Annotated[str, AfterValidator(check_url)]
Cidr = Annotated[str, AfterValidator(check_cidr)]
