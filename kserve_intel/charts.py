"""Where each Helm chart comes from: its upstream repository, or a mirror the user names per release.

Air-gapped clusters install from a chart mirror (a Helm repository over http(s), or an OCI registry), so
`chartRepositories` maps a release name to the repository that serves its chart at the same version. The
rules for that key live here: which names exist, which URLs Helm takes, and that a named release is one
this stack really installs (a mirror for a release it never creates would be read and ignored).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from .errors import ConfigIssue

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
_REPOSITORY_URL = re.compile(r"^(https?|oci)://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~\-/]*)?$")


def repository_issues(value: Any) -> Iterable[ConfigIssue]:
    """Shape of `chartRepositories`: known release names, URLs Helm can fetch a chart from."""
    if not isinstance(value, Mapping):
        yield ConfigIssue("chartRepositories", "must map a release name to a chart repository URL", value)
        return
    for name, url in value.items():
        path = f"chartRepositories.{name}"
        if name not in RELEASES:
            yield ConfigIssue(path, "unknown Helm release; releases the program installs: " + ", ".join(RELEASES))
        elif not isinstance(url, str) or not _REPOSITORY_URL.match(url):
            yield ConfigIssue(
                path, "must be a Helm repository URL (http:// or https://, e.g. http://charts.example.com/kserve) "
                "or an OCI registry path (oci://registry.example.com/charts)", url,
            )


def unused_issues(overrides: Mapping[str, str], created: Iterable[str]) -> Iterable[ConfigIssue]:
    """A mirror named for a release this stack does not install would have no effect."""
    created = set(created)
    for name in overrides:
        if name in RELEASES and name not in created:
            yield ConfigIssue(
                f"chartRepositories.{name}",
                "this stack installs no such release, so the mirror would have no effect; it installs: "
                + (", ".join(sorted(created)) or "none (kserve.install is false and no add-on is installed)"),
            )


def installed_releases(plan: Any) -> list[str]:
    """Release names the stack installs, under the same conditions the components use."""
    names: list[str] = []
    kserve = plan.config.kserve
    if kserve.install:
        if kserve.cert_manager == "install":
            names.append("cert-manager")
        names += [plan.release.crd_chart, plan.release.controller_chart]
        if plan.local_model_cache is not None and plan.release.localmodel_separate_charts:
            names += ["kserve-localmodel-crd", "kserve-localmodel-resources"]
    if plan.install_knative:
        names.append("knative-operator")
    if plan.install_keda:
        names.append("keda")
    return names


def locate(overrides: Mapping[str, str], release: str, chart: str, repository: str) -> tuple[str, str | None]:
    """The (chart, repository) pair for a release, as `helm install --repo REPO CHART` takes it.

    OCI registries have no index: Helm takes the chart as `oci://host/path/<chart>` and no repository.
    """
    source = overrides.get(release, repository).rstrip("/")
    if source.startswith("oci://"):
        return f"{source}/{chart}", None
    return chart, source
