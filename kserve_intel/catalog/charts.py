"""The Helm charts the program installs and where each comes from.

Air-gapped clusters install from a chart mirror (a Helm repository over http(s), or an OCI registry), so
`chartRepositories` maps a release name to the repository that serves its chart at the same version
(its rules: rules/charts.py).
"""

from __future__ import annotations

from typing import Mapping


# Every Helm release the program can create, by release name (also the chart's name).
RELEASES = (
    "cert-manager",
    "kserve-crd",
    "kserve",
    "kserve-resources",
    "kserve-localmodel-crd",
    "kserve-localmodel-resources",
    "knative-operator",
    "keda",
)


def locate(overrides: Mapping[str, str], release: str, chart: str, repository: str) -> tuple[str, str | None]:
    """The (chart, repository) pair for a release, as `helm install --repo REPO CHART` takes it.

    OCI registries have no index: Helm takes the chart as `oci://host/path/<chart>` and no repository.
    """
    source = overrides.get(release, repository).rstrip("/")
    if source.startswith("oci://"):
        return f"{source}/{chart}", None
    return chart, source
