"""Ownership: what this stack installs (`auto` resolved) and which existing objects it may touch.

Two decisions, both taken before any resource is registered (components/ownership.py runs them during `preview`
and `up` on what `online/cluster.py` reads from the cluster):

* `resolve_installs`: `kserve.install`, `kserve.certManager`, `kserve.knative` and `autoscaling.keda.install` set
  to `auto` become install or use-existing from what the cluster holds. A component this stack installed itself
  (its Helm release carries this stack's stamp) stays installed; one found complete is used; one found partly
  (CRDs without a controller) is refused with what is missing, since neither choice would work.
* `decide`: every object the stack would create (builders/ownership.py `inventory`) is absent, this stack's, or
  someone else's. Someone else's is refused, with who manages it and the config that fits, unless `adopt` names
  it; adopted objects are never deleted by `destroy`. An application stack (`runtimes.configureIntel: false`) also
  needs the runtimes its models name to be on the cluster.

Pure functions on the findings; the config keys in each message are the ones the user sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ..config.stack import StackConfig
from ..online.cluster import ABSENT, FOREIGN, OURS, UNKNOWN, Finding, HelmReleaseKey, Installation, ObjectKey
from .autoscaling import default_engine

# What a config choice covers: the concern of each object the stack creates.
CERT_MANAGER, KSERVE, RUNTIMES, KNATIVE, KEDA, MODELS, OTHER = (
    "cert-manager", "kserve", "runtimes", "knative", "keda", "models", "other")

Key = ObjectKey | HelmReleaseKey


@dataclass(frozen=True)
class Installs:
    """What this stack installs, every `auto` resolved."""

    kserve: bool
    cert_manager: bool
    knative: bool
    keda: bool


def keda_engine(config: StackConfig) -> bool:
    scaling = config.autoscaling
    return scaling.enabled and (scaling.engine or default_engine(config.kserve.serverless)) == "keda"


def default_installs(config: StackConfig) -> Installs:
    """`auto` as on an empty cluster: install. What the offline render and `ownership.check: off` use."""
    kserve = config.kserve
    installs_kserve = kserve.install is not False
    keda = (config.autoscaling.keda.install if config.autoscaling.keda is not None else "auto")
    return Installs(
        kserve=installs_kserve,
        cert_manager=installs_kserve and kserve.cert_manager != "existing",
        knative=kserve.serverless and kserve.knative_source != "existing",
        keda=keda_engine(config) and keda is not False,
    )


def auto_concerns(config: StackConfig) -> tuple[str, ...]:
    """The components whose install choice is `auto` (and matters for this stack)."""
    kserve = config.kserve
    keda = config.autoscaling.keda.install if config.autoscaling.keda is not None else "auto"
    found = []
    if kserve.install == "auto":
        found.append(KSERVE)
    if kserve.install is not False and kserve.cert_manager == "auto":
        found.append(CERT_MANAGER)
    if kserve.serverless and kserve.knative_source == "auto":
        found.append(KNATIVE)
    if keda_engine(config) and keda == "auto":
        found.append(KEDA)
    return tuple(found)


# The config key of each `auto`, and the value that means "use the cluster's".
_SETTING = {
    KSERVE: ("kserve.install", "false"),
    CERT_MANAGER: ("kserve.certManager", "existing"),
    KNATIVE: ("kserve.knative", "existing"),
    KEDA: ("autoscaling.keda.install", "false"),
}
_INSTALL_VALUE = {KSERVE: "true", CERT_MANAGER: "install", KNATIVE: "install", KEDA: "true"}
_NAMES = {KSERVE: "KServe", CERT_MANAGER: "cert-manager", KNATIVE: "Knative Serving", KEDA: "KEDA"}


@dataclass(frozen=True)
class Resolution:
    installs: Installs
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()


def _found(installation: Installation) -> str:
    version = f" {installation.version}" if installation.version else " (version not seen)"
    where = f" in namespace {installation.namespace}" if installation.namespace else ""
    return f"{version}{where}: " + ", ".join(installation.evidence)


def resolve_installs(config: StackConfig, defaults: Installs, kserve_tag: str,
                     found: Mapping[str, Installation], own_releases: Mapping[str, Finding],
                     adopt_retained: bool = False) -> Resolution:
    """Each `auto` in `found` (the cluster's installation of that component) resolved; KServe's version checked
    whenever the stack uses the cluster's KServe (`kserve.install` false, or auto resolved so).

    `own_releases`: per component, the finding of the Helm release this stack would install for it: when it is
    this stack's, `auto` keeps installing (else the stack would uninstall what it installed).
    """
    choice = {KSERVE: defaults.kserve, CERT_MANAGER: defaults.cert_manager, KNATIVE: defaults.knative,
              KEDA: defaults.keda}
    notes: list[str] = []
    warnings: list[str] = []
    refusals: list[str] = []
    for concern in auto_concerns(config):
        if concern == CERT_MANAGER and not choice[KSERVE]:
            choice[CERT_MANAGER] = False  # cert-manager is only installed with KServe
            continue
        key, existing = _SETTING[concern]
        name = _NAMES[concern]
        own = own_releases.get(concern)
        installation = found.get(concern, Installation(False))
        if own is not None and own.state == OURS:
            choice[concern] = True
            notes.append(f"{key}: auto -> install ({own.key} is this stack's)")
        elif own is not None and own.state == FOREIGN and own.unstamped_kserve_intel and adopt_retained:
            choice[concern] = True
            notes.append(f"{key}: auto -> install ({own.key} was installed by kserve-intel before owner stamps; "
                         "taken back with ADOPT=1)")
        elif own is not None and own.state == FOREIGN and own.unstamped_kserve_intel:
            refusals.append(
                f"{key} = auto: {own.key} was installed by kserve-intel without an owner stamp (a version before "
                f"stamps). If this stack installed it, run `make up ADOPT=1` once (KSERVE_INTEL_ADOPT=retained) to "
                f"take it back; else set kserve-intel:{key} {existing} to use it")
        elif not installation.present:
            choice[concern] = True
            notes.append(f"{key}: auto -> install (no {name} on the cluster)")
        elif installation.complete or (concern == KSERVE and _kserve_usable(installation)):
            choice[concern] = False
            notes.append(f"{key}: auto -> use the cluster's {name}{_found(installation)}")
        else:
            refusals.append(
                f"{key} = auto: {name} is only partly on the cluster (found {', '.join(installation.evidence)}; "
                f"missing {', '.join(installation.missing)}). Installing it would collide with what is there and "
                f"using it would leave the models waiting: finish or remove that installation, or set "
                f"kserve-intel:{key} {existing} (use it as it is) or {_INSTALL_VALUE[concern]}")
    installs = Installs(kserve=choice[KSERVE], cert_manager=choice[KSERVE] and choice[CERT_MANAGER],
                        knative=choice[KNATIVE], keda=choice[KEDA])
    if not installs.kserve and KSERVE in found:
        problem, warning = kserve_version_issue(found[KSERVE], kserve_tag)
        refusals += [problem] if problem else []
        warnings += [warning] if warning else []
    return Resolution(installs, tuple(notes), tuple(warnings), tuple(refusals))


def _kserve_usable(installation: Installation) -> bool:
    """The CRD and KServe's configuration are there; the controller may run outside the cluster (not seen)."""
    return installation.present and any(e.startswith("ConfigMap ") for e in installation.evidence)


def kserve_version_issue(installation: Installation, tag: str) -> tuple[str | None, str | None]:
    """(refusal, warning) for a stack that uses the cluster's KServe: its feature gates follow `kserve.version`."""
    if not installation.present:
        return ("kserve.install is false (or auto found KServe) but the cluster has no KServe (no CRD "
                "inferenceservices.serving.kserve.io): the models would never be reconciled. Install KServe, or "
                "set kserve-intel:kserve.install true or auto", None)
    if not _kserve_usable(installation):
        return (f"the cluster's KServe is incomplete (found {', '.join(installation.evidence)}; missing "
                f"{', '.join(installation.missing)}): the models would never be reconciled", None)
    if installation.version is None:
        return None, (f"uses the cluster's KServe without seeing its version ({', '.join(installation.evidence)}; "
                      f"{', '.join(installation.missing) or 'no image tag'}): kserve.version {tag} decides which "
                      f"features the program uses, so make sure it matches")
    found, want = installation.version, tag
    if found == want:
        return None, None
    if found.rsplit(".", 1)[0] == want.rsplit(".", 1)[0]:
        return None, f"the cluster runs KServe {found} and kserve.version is {want} (same minor; patch differs)"
    return (f"the cluster runs KServe {found} ({', '.join(installation.evidence)}) and kserve.version is {want}: "
            f"the program shapes every object for the version it is told. Set kserve-intel:kserve.version {found}",
            None)


# ---------------------------------------------------------------------------------------------- ownership


@dataclass(frozen=True)
class Owned:
    """An object the stack would create that can already exist, and the choice that covers it."""

    key: Key
    concern: str = OTHER


@dataclass(frozen=True)
class Needed:
    """An object the stack's models use without creating it (an application stack's runtimes)."""

    key: ObjectKey
    used_by: tuple[str, ...]


def adopt_name(key: Key) -> str:
    """How `adopt:` names an object: `Kind/name` or `Kind/namespace/name`."""
    if isinstance(key, HelmReleaseKey):
        return f"HelmRelease/{key.namespace}/{key.name}"
    return f"{key.kind}/{key.namespace}/{key.name}" if key.namespace else f"{key.kind}/{key.name}"


_HINTS = {
    CERT_MANAGER: "the cluster has cert-manager: set kserve-intel:kserve.certManager existing (or auto)",
    KSERVE: "the cluster has KServe: set kserve-intel:kserve.install false (or auto) and kserve.version to its version",
    RUNTIMES: "another stack or team provides the runtimes: set kserve-intel:runtimes.configureIntel false",
    KNATIVE: "the cluster has Knative: set kserve-intel:kserve.knative existing (or auto)",
    KEDA: "the cluster has KEDA: set kserve-intel:autoscaling.keda.install false (or auto)",
    MODELS: "choose another kserve-intel:namespace for the models, or name it in kserve-intel:adopt",
}


@dataclass(frozen=True)
class Decision:
    refusals: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # `adopt` names taken over: stamped as adopted, never deleted.
    adopted: frozenset[str] = field(default_factory=frozenset)
    # Namespaces found absent or this stack's: the stack created them (a guard deletes them on destroy if empty).
    created_namespaces: frozenset[str] = field(default_factory=frozenset)


def decide(owned: Iterable[Owned], findings: Mapping[Key, Finding], needed: Iterable[Needed],
           needed_findings: Mapping[Key, Finding], adopt: Iterable[str], adopt_retained: bool = False,
           preview: bool = False) -> Decision:
    owned = list(owned)
    adopt = list(adopt)
    names = {adopt_name(o.key): o for o in owned}
    refusals: list[str] = []
    warnings: list[str] = []
    notes: list[str] = []
    adopted: set[str] = set()
    created: set[str] = set()
    for index, entry in enumerate(adopt):
        if entry not in names:
            existing = sorted(n for n, o in names.items() if (f := findings.get(o.key)) and f.state == FOREIGN)
            refusals.append(f"adopt[{index}] = {entry}: not an object this stack creates; remove it (objects of this "
                            f"stack that exist and are not its own: {', '.join(existing) or 'none'})")
        elif isinstance(names[entry].key, HelmReleaseKey):
            refusals.append(f"adopt[{index}] = {entry}: Helm cannot take over a release; use the installed one "
                            "with kserve.install false / kserve.certManager existing")
    for item in owned:
        finding = findings.get(item.key)
        if finding is None:
            continue
        name = adopt_name(item.key)
        is_namespace = isinstance(item.key, ObjectKey) and item.key.kind == "Namespace"
        if finding.state == ABSENT:
            if is_namespace:
                created.add(item.key.name)
            continue
        if finding.state == OURS:
            if finding.adopted:
                adopted.add(name)
            elif is_namespace:
                created.add(item.key.name)
            continue
        if finding.state == UNKNOWN:
            line = f"{finding.key}: cannot tell who owns it ({finding.detail})"
            (warnings if preview else refusals).append(
                line + ("" if preview else "; `up` needs to read it: grant the stack's credentials `get` on it, or "
                        "set kserve-intel:ownership.check off"))
            continue
        # foreign
        if name in adopt and not isinstance(item.key, HelmReleaseKey):
            adopted.add(name)
            notes.append(f"adopting {finding.key} (adopt): it is stamped as this stack's and kept by destroy")
        elif adopt_retained and finding.unstamped_kserve_intel:
            notes.append(f"taking back {finding.key} (ADOPT=1: labelled part-of kserve-intel, no owner stamp)")
            if is_namespace:
                created.add(item.key.name)
        else:
            hint = _HINTS.get(item.concern)
            if finding.unstamped_kserve_intel:
                hint = ("created by kserve-intel without an owner stamp (a version before stamps): if this stack "
                        "created it, run `make up ADOPT=1` once (KSERVE_INTEL_ADOPT=retained); else " +
                        (hint or "name it in kserve-intel:adopt"))
            elif hint is None:
                hint = f"name it in kserve-intel:adopt ({name}) to take it over; destroy then leaves it"
            refusals.append(_refusal(finding, hint))
    for item in needed:
        finding = needed_findings.get(item.key)
        if finding is None:
            continue
        users = ", ".join(item.used_by)
        if finding.state == ABSENT:
            refusals.append(
                f"{item.key} is not on the cluster and {users} run on it: runtimes.configureIntel is false, so "
                f"another stack must create it (its runtimes.configureIntel true, same platform and serving stack), "
                f"or set kserve-intel:runtimes.configureIntel true here")
        elif finding.state == UNKNOWN:
            warnings.append(f"{item.key}: cannot tell whether it exists ({finding.detail})")
        else:
            who = "this stack" if finding.state == OURS else ("; ".join(finding.managers) or "no owner recorded")
            notes.append(f"{users} use {item.key} of {who}")
    return Decision(tuple(refusals), tuple(warnings), tuple(notes), frozenset(adopted), frozenset(created))


def _refusal(finding: Finding, hint: str) -> str:
    who = "; ".join(finding.managers) or "no owner recorded"
    extra = f" ({finding.detail})" if finding.detail else ""
    return f"{finding.key}{extra}: {who}\n      -> {hint}"


def refusal_message(owner: str, refusals: Iterable[str]) -> str:
    lines = list(refusals)
    return (f"kserve-intel will not touch what this stack ({owner}) does not own; nothing was registered "
            f"({len(lines)} problem{'s' if len(lines) > 1 else ''}):\n" + "\n".join(f"  {line}" for line in lines)
            + "\nSee docs/shared-clusters.md (existing installations, adopt, platform and application stacks).")
