"""Rules of `chartRepositories`: which release names exist, which URLs Helm takes, and that a named
release is one this stack really installs (a mirror for a release it never creates would be read and
ignored).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from ..catalog.charts import RELEASES
from ..errors import ConfigIssue


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
