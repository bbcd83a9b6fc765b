"""`namespace`: where the models live, never KServe's control-plane namespace nor a system one."""

from __future__ import annotations

from typing import Iterable

from ..config.stack import RESERVED_NAMESPACES, StackConfig
from ..errors import ConfigIssue


def namespace_checks(config: StackConfig) -> Iterable[ConfigIssue]:
    kserve = config.kserve
    if config.namespace == kserve.namespace:
        yield ConfigIssue(
            "namespace", "models must not live in the KServe control-plane namespace "
            "(kserve.namespace); choose another namespace, e.g. intel-inference", config.namespace,
        )
    elif config.namespace in RESERVED_NAMESPACES:
        yield ConfigIssue(
            "namespace", "is a system namespace; choose a dedicated one, e.g. intel-inference", config.namespace,
        )
