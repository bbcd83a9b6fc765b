"""`adopt` and `ownership`: which objects on the cluster this stack may take over, and whether it looks."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator

from .values import Strict

# Kind/name (cluster-scoped, namespaces) or Kind/namespace/name.
_ADOPT = re.compile(r"^[A-Z][A-Za-z0-9]{0,62}/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def _adopt_entry(value: str) -> str:
    if not _ADOPT.match(value):
        raise ValueError("must name one object as Kind/name (cluster-scoped, e.g. Namespace/monitoring, "
                         "ClusterServingRuntime/intel-vllm-gaudi) or Kind/namespace/name (e.g. "
                         "Secret/intel-inference/hf-token)")
    return value


AdoptEntry = Annotated[str, AfterValidator(_adopt_entry)]


class OwnershipConfig(Strict):
    """The look at the cluster before any resource (see [shared clusters](shared-clusters.md))."""

    check: Literal["enforce", "off"] = "enforce"
    """`enforce`: `preview` and `up` first read, through the stack's own kubeconfig/context, every object the stack
    would create that can already exist, and refuse one that is not this stack's (`up` also refuses when the cluster
    cannot be read; `preview` warns). `off`: no look, and `auto` choices resolve as on an empty cluster (render-only
    CI; the offline render always runs so). With `off`, Pulumi's server-side apply takes over existing objects of
    the same names silently.
    """
