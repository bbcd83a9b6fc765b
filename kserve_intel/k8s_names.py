"""Kubernetes name, label and annotation syntax, as the API server checks it.

Shared by config validation (user input) and manifest validation (what we
emit), so both apply the same rules. Each check returns a problem or None.
"""

from __future__ import annotations

import re

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def dns1123_subdomain(name: str) -> str | None:
    if len(name) > 253:
        return f"must be no more than 253 characters (has {len(name)})"
    if not _DNS1123_SUBDOMAIN.match(name):
        return "must be a DNS-1123 subdomain: lowercase alphanumerics, '-' or '.', starting and ending alphanumeric"
    return None


def dns1123_label(name: str) -> str | None:
    if len(name) > 63:
        return f"must be no more than 63 characters (has {len(name)})"
    if not _DNS1123_LABEL.match(name):
        return "must be a DNS-1123 label: lowercase alphanumerics or '-', starting and ending alphanumeric"
    return None


def dns1035_label(name: str) -> str | None:
    if len(name) > 63:
        return f"must be no more than 63 characters (has {len(name)})"
    if not _DNS1035_LABEL.match(name):
        return "must be a DNS-1035 label: lowercase alphanumerics or '-', starting with a letter, ending alphanumeric"
    return None


def qualified_name(key: str) -> str | None:
    """Label/annotation key: optional DNS-subdomain prefix + '/' + name of at most 63 characters."""
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix:
            return "prefix part must be non-empty"
        problem = dns1123_subdomain(prefix)
        if problem:
            return f"prefix part {problem}"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return f"name part must be no more than 63 characters (has {len(name)})"
    if not _QUALIFIED_NAME.match(name):
        return "name part must be alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    return None


def label_value(value: str) -> str | None:
    if len(value) > 63:
        return f"must be no more than 63 characters (has {len(value)})"
    if not _LABEL_VALUE.match(value):
        return "must be empty or alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    return None
