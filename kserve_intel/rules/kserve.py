"""`kserve`: keys that only mean something when this stack installs KServe or cert-manager."""

from __future__ import annotations

from typing import Iterable

from pydantic.alias_generators import to_camel

from ..config.stack import StackConfig
from ..errors import ConfigIssue


def kserve_checks(config: StackConfig) -> Iterable[ConfigIssue]:
    kserve = config.kserve
    if not kserve.install:
        for key in ("cert_manager", "cert_manager_version"):
            if kserve.explicitly_set(key):
                yield ConfigIssue(
                    f"kserve.{to_camel(key)}", "has no effect when kserve.install is false; remove it",
                    getattr(kserve, key),
                )
    elif kserve.cert_manager == "existing" and kserve.explicitly_set("cert_manager_version"):
        yield ConfigIssue(
            "kserve.certManagerVersion", "has no effect when kserve.certManager is 'existing'; remove it",
            kserve.cert_manager_version,
        )
