"""CrossGuard policies: what a kserve-intel stack must never ship.

Each policy is a pure check `(resource_type, props, settings) -> [message]`
wrapped in a `ResourceValidationPolicy`. The checks read resource *inputs* as
the Pulumi engine sends them to a policy pack: plain mappings and sequences
(proxies during a real run), with Pulumi secrets already unwrapped.

The pack deliberately does not import the program (`kserve_intel`): a guardrail
that shares its constants with the code it guards would approve the code's
own mistakes. What it knows about Gaudi (the `habana.ai/` device resources,
the capability trio, the `habana` RuntimeClass) is stated again here.

Which objects are inspected:
- Pods and every pod-template workload (Deployment, StatefulSet, DaemonSet,
  ReplicaSet, ReplicationController, Job, CronJob, PodTemplate);
- KServe InferenceServices (predictor, transformer, explainer: their
  containers, the `model`/framework container and the `workerSpec`) and
  (Cluster)ServingRuntimes;
- ConfigMaps (plain secrets);
- Helm releases, from their inputs only (chart values): the objects a chart
  renders are not visible to a policy pack.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

PROJECT = "kserve-intel"
GAUDI_PLATFORMS = ("gaudi", "gaudi3")
PLATFORMS = ("xeon", *GAUDI_PLATFORMS)

# What only a Gaudi pod may carry.
GAUDI_RESOURCE_PREFIX = "habana.ai/"
GAUDI_CAPABILITIES = frozenset({"IPC_LOCK", "SYS_NICE", "SYS_PTRACE"})
GAUDI_RUNTIME_CLASS = "habana"
GAUDI_DEVICE_ENV = "HABANA_VISIBLE_DEVICES"
# The one exception outside Gaudi: vLLM's CPU backend binds each rank's memory to its NUMA node
# (set_mempolicy/mbind), which the container runtime's default seccomp profile allows only with
# CAP_SYS_NICE. Only ServingRuntimes labelled with one of these serving stacks may add SYS_NICE,
# and nothing else (docs/security.md).
SERVING_STACK_LABEL = "kserve-intel/serving-stack"
NUMA_BINDING_STACKS = frozenset({"vllm-0.33"})
NUMA_BINDING_CAPABILITIES = frozenset({"SYS_NICE"})
# Capabilities that amount to a privileged container.
PRIVILEGED_CAPABILITIES = frozenset({"ALL", "SYS_ADMIN"})
HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")

# Tags that are moved on purpose: the same name points at a new image later.
MUTABLE_TAGS = frozenset({
    "latest", "stable", "edge", "nightly", "main", "master", "dev", "develop", "head", "canary", "release",
    "current", "rolling", "snapshot",
})

POD = "kubernetes:core/v1:Pod"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
ISVC_KIND = "InferenceService"
RUNTIME_KINDS = ("ServingRuntime", "ClusterServingRuntime")
KSERVE_GROUP = "kubernetes:serving.kserve.io/"
# Workload type -> path of its pod template's spec.
TEMPLATED = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:core/v1:ReplicationController": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:PodTemplate": ("template", "spec"),
}
# An InferenceService component names its serving container after a framework.
ISVC_COMPONENTS = ("predictor", "transformer", "explainer")
ISVC_MODEL_KEYS = (
    "model", "huggingface", "lightgbm", "onnx", "paddle", "pmml", "pytorch", "sklearn", "tensorflow", "triton",
    "xgboost", "art", "alibi",
)

# Names that say "this holds a credential" (env names, ConfigMap keys, flags).
_SECRET_NAME = re.compile(
    r"(?:^|[_.-])(?:TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|APIKEY|"
    r"(?:API|ACCESS|PRIVATE|SECRET|CLIENT)[_.-]?KEY)(?:$|[_.-])",
    re.IGNORECASE,
)
# Values that are credentials whatever they are called.
_CREDENTIAL_VALUE = re.compile(
    r"\bhf_[A-Za-z0-9]{30,}\b"            # Hugging Face
    r"|\bsk-[A-Za-z0-9_-]{20,}"            # OpenAI-style API keys
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}\b"     # GitHub tokens
    r"|\bgithub_pat_[A-Za-z0-9_]{20,}"
    r"|\bglpat-[A-Za-z0-9_-]{20,}"         # GitLab
    r"|\bAKIA[0-9A-Z]{16}\b"               # AWS access key id
    r"|\bxox[abpr]-[A-Za-z0-9-]{10,}"      # Slack
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
)
# Values under a secret-looking name that are clearly not a credential.
_NOT_A_SECRET = frozenset({"", "true", "false", "yes", "no", "0", "1", "none", "null"})
# `$(VAR)`: Kubernetes substitutes another env var (typically from a Secret).
_ENV_REFERENCE = re.compile(r"^\$\([A-Za-z_][A-Za-z0-9_]*\)$")


# ---------------------------------------------------------------- navigation

@dataclass(frozen=True)
class Container:
    path: str
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class PodSpec:
    """A pod-level spec and the containers it runs, with their paths."""

    path: str
    spec: Mapping[str, Any]
    containers: tuple[Container, ...]


def _is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not _is_map(value) or key not in value:
            return None
        value = value[key]
    return value


def _kind(resource_type: str) -> str:
    return resource_type.rsplit(":", 1)[-1]


def is_inference_service(resource_type: str) -> bool:
    return resource_type.startswith(KSERVE_GROUP) and _kind(resource_type) == ISVC_KIND


def is_serving_runtime(resource_type: str) -> bool:
    return resource_type.startswith(KSERVE_GROUP) and _kind(resource_type) in RUNTIME_KINDS


def _containers(spec: Mapping[str, Any], path: str, extra_keys: Sequence[str] = ()) -> tuple[Container, ...]:
    found: list[Container] = []
    for key in ("initContainers", "containers"):
        items = spec.get(key)
        if _is_list(items):
            found.extend(Container(f"{path}.{key}[{i}]", c) for i, c in enumerate(items) if _is_map(c))
    for key in extra_keys:
        if _is_map(spec.get(key)):
            found.append(Container(f"{path}.{key}", spec[key]))
    return tuple(found)


def _pod(spec: Any, path: str, extra_keys: Sequence[str] = ()) -> list[PodSpec]:
    if not _is_map(spec):
        return []
    pods = [PodSpec(path, spec, _containers(spec, path, extra_keys))]
    worker = spec.get("workerSpec")
    if _is_map(worker):
        # Multi-node serving: the worker pods, same shape as the head.
        pods.append(PodSpec(f"{path}.workerSpec", worker, _containers(worker, f"{path}.workerSpec")))
    return pods


def pod_specs(resource_type: str, props: Mapping[str, Any]) -> list[PodSpec]:
    """Every pod-level spec a resource's inputs describe (empty for other objects)."""
    if resource_type == POD:
        return _pod(props.get("spec"), "spec")
    if resource_type in TEMPLATED:
        path = TEMPLATED[resource_type]
        return _pod(_get(props, *path), ".".join(path))
    if is_inference_service(resource_type):
        spec = props.get("spec")
        pods: list[PodSpec] = []
        for component in ISVC_COMPONENTS:
            pods.extend(_pod(_get(spec, component), f"spec.{component}", ISVC_MODEL_KEYS))
        return pods
    if is_serving_runtime(resource_type):
        return _pod(props.get("spec"), "spec")
    return []


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) for every mapping entry, depth first (Helm values)."""
    if _is_map(value):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, str(key), item
            yield from _walk(item, here)
    elif _is_list(value):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def _helm_values(resource_type: str, props: Mapping[str, Any]) -> Any:
    return props.get("values") if resource_type == HELM_RELEASE else None


def _numa_binding_exemption(resource_type: str, props: Mapping[str, Any]) -> frozenset[str]:
    """SYS_NICE on a ServingRuntime of a NUMA-binding serving stack; nothing for any other object."""
    if not is_serving_runtime(resource_type):
        return frozenset()
    labels = _get(props, "metadata", "labels")
    stack = labels.get(SERVING_STACK_LABEL) if _is_map(labels) else None
    return NUMA_BINDING_CAPABILITIES if stack in NUMA_BINDING_STACKS else frozenset()


def _capabilities_added(container: Mapping[str, Any]) -> set[str]:
    added = _get(container, "securityContext", "capabilities", "add")
    return {str(c).upper() for c in added} if _is_list(added) else set()


# -------------------------------------------------------- settings per stack

@dataclass(frozen=True)
class Settings:
    """What a check may need to know about the stack."""

    platform: str | None = None
    required_limits: tuple[str, ...] = ("cpu", "memory")
    mutable_tags: frozenset[str] = MUTABLE_TAGS


def stack_platform(policy_config: Mapping[str, Any]) -> str | None:
    """The stack's platform: the policy's own config wins, then the stack config.

    `pulumi preview --policy-pack policy` gives policy packs the stack's config,
    so `kserve-intel:platform` is read as the program reads it. Stacks of other
    projects (or a run that must override it) set `platform` in the policy
    config (`--policy-pack-config`).
    """
    configured = policy_config.get("platform")
    if configured:
        return str(configured)
    try:
        import pulumi

        value = pulumi.Config(PROJECT).get("platform")
    except Exception:  # noqa: BLE001 - no Pulumi runtime settings: no stack config either
        return None
    return value or None


# -------------------------------------------------------------------- checks

Check = Callable[[str, Mapping[str, Any], Settings], list[str]]


def check_gaudi_only_on_gaudi(resource_type: str, props: Mapping[str, Any], settings: Settings) -> list[str]:
    """Gaudi devices, capabilities and runtime class appear only on Gaudi stacks."""
    findings: list[str] = []
    exempt = _numa_binding_exemption(resource_type, props)
    for pod in pod_specs(resource_type, props):
        if str(pod.spec.get("runtimeClassName") or "").startswith(GAUDI_RUNTIME_CLASS):
            findings.append(f"{pod.path}.runtimeClassName: {pod.spec['runtimeClassName']!r} (Habana container runtime)")
        for container in pod.containers:
            for kind in ("requests", "limits"):
                for resource in _get(container.spec, "resources", kind) or {}:
                    if str(resource).startswith(GAUDI_RESOURCE_PREFIX):
                        findings.append(f"{container.path}.resources.{kind}: {resource} (Gaudi device)")
            caps = sorted(_capabilities_added(container.spec) & GAUDI_CAPABILITIES - exempt)
            if caps:
                findings.append(f"{container.path}.securityContext.capabilities.add: {', '.join(caps)} (Gaudi capabilities)")
            for entry in container.spec.get("env") or ():
                if _is_map(entry) and entry.get("name") == GAUDI_DEVICE_ENV:
                    findings.append(f"{container.path}.env: {GAUDI_DEVICE_ENV} (Gaudi device selection)")
    for path, key, value in _walk(_helm_values(resource_type, props), "values"):
        if key.startswith(GAUDI_RESOURCE_PREFIX):
            findings.append(f"{path}: Gaudi device")
        elif key == "add" and path.endswith("capabilities.add") and _is_list(value):
            caps = sorted({str(c).upper() for c in value} & GAUDI_CAPABILITIES)
            if caps:
                findings.append(f"{path}: {', '.join(caps)} (Gaudi capabilities)")
        elif key == "runtimeClassName" and str(value).startswith(GAUDI_RUNTIME_CLASS):
            findings.append(f"{path}: {value!r} (Habana container runtime)")
    if not findings or settings.platform in GAUDI_PLATFORMS:
        return []
    if settings.platform is None:
        where = ("the stack's platform is unknown: set kserve-intel:platform in the stack, or `platform` "
                 "in this policy's config")
    else:
        where = f"this is a {settings.platform} stack; only {' and '.join(GAUDI_PLATFORMS)} stacks may use Gaudi"
    return [f"{finding}: {where}" for finding in findings]


def check_resource_limits(resource_type: str, props: Mapping[str, Any], settings: Settings) -> list[str]:
    """Every container that will run has CPU and memory limits.

    ServingRuntimes are templates: KServe merges the InferenceService's
    resources into the runtime container, so the InferenceService is checked.
    """
    if is_serving_runtime(resource_type):
        return []
    findings = []
    for pod in pod_specs(resource_type, props):
        for container in pod.containers:
            limits = _get(container.spec, "resources", "limits")
            limits = limits if _is_map(limits) else {}
            missing = [name for name in settings.required_limits if not limits.get(name)]
            if missing:
                findings.append(
                    f"{container.path}: no resources.limits.{' and '.join(missing)}; an unbounded container can "
                    "starve the node (set requests and limits)"
                )
    return findings


def image_problem(image: str, mutable_tags: frozenset[str] = MUTABLE_TAGS) -> str | None:
    """Why an image reference is not pinned, or None when it is."""
    if "@" in image:
        return None  # a digest names exactly one image
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag, so it means :latest"
    tag = last.rsplit(":", 1)[-1]
    lowered = tag.lower()
    if lowered in mutable_tags or any(lowered.endswith(f"-{t}") for t in mutable_tags):
        return f"uses the mutable tag {tag!r}"
    return None


def check_pinned_images(resource_type: str, props: Mapping[str, Any], settings: Settings) -> list[str]:
    """Images are referenced by an immutable tag or a digest."""
    findings = []
    for pod in pod_specs(resource_type, props):
        for container in pod.containers:
            image = container.spec.get("image")
            if isinstance(image, str) and (problem := image_problem(image, settings.mutable_tags)):
                findings.append(f"{container.path}.image {image!r} {problem}; pin a version tag or a digest")
    values = _helm_values(resource_type, props)
    for path, key, value in _walk(values, "values"):
        if _is_map(value) and isinstance(value.get("image"), str) and isinstance(value.get("tag"), str):
            # KServe's and Knative's charts: `image` is the repository and the sibling `tag` its tag (or
            # `<tag>@sha256:...`), rendered as "{{ image }}:{{ tag }}".
            image = f"{value['image']}:{value['tag']}" if value["tag"] else value["image"]
            if problem := image_problem(image, settings.mutable_tags):
                findings.append(f"{path}.image+tag {image!r} {problem}; pin a version tag or a digest")
    for path, key, value in _walk(values, "values"):
        if key == "image" and isinstance(value, str) and path.rsplit(".", 1)[0] in _image_tag_maps(values):
            continue  # judged with its tag above
        if key == "image" and isinstance(value, str) and (problem := image_problem(value, settings.mutable_tags)):
            findings.append(f"{path} {value!r} {problem}; pin a version tag or a digest")
        elif _is_map(value) and "repository" in value and "tag" in value and "digest" not in value:
            # An empty tag means the chart's appVersion, pinned by the chart version.
            tag = str(value.get("tag") or "")
            if tag and tag.lower() in settings.mutable_tags:
                findings.append(f"{path}.tag {tag!r} is mutable; pin a version tag or a digest")
    return findings


def _image_tag_maps(values: Any) -> set[str]:
    """Paths of the values maps that hold `image` (a repository) beside a `tag`."""
    found = {"values"} if _is_map(values) and isinstance(values.get("image"), str) and isinstance(values.get("tag"), str) else set()
    for path, _, value in _walk(values, "values"):
        if _is_map(value) and isinstance(value.get("image"), str) and isinstance(value.get("tag"), str):
            found.add(path)
    return found


def _secret_like_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def _plain_secret(name: str, value: Any) -> str | None:
    """Why `name: value` exposes a credential in plain text, or None."""
    if not isinstance(value, str):
        return None
    if _CREDENTIAL_VALUE.search(value):
        return "holds a credential"
    if _secret_like_name(name) and value.strip().lower() not in _NOT_A_SECRET and not _ENV_REFERENCE.match(value):
        return "is named like a secret and has a literal value"
    return None


def _arg_findings(path: str, args: Any) -> list[str]:
    if not _is_list(args):
        return []
    findings = []
    items = [str(a) for a in args]
    for i, arg in enumerate(items):
        if _CREDENTIAL_VALUE.search(arg):
            findings.append(f"{path}[{i}] holds a credential")
            continue
        if not arg.startswith("--") or not _secret_like_name(arg.lstrip("-").split("=", 1)[0]):
            continue
        flag, eq, inline = arg.partition("=")
        value = inline if eq else (items[i + 1] if i + 1 < len(items) and not items[i + 1].startswith("--") else "")
        if value and not _ENV_REFERENCE.match(value):
            findings.append(f"{path}[{i}] passes {flag} a literal value")
    return findings


def check_no_plain_secrets(resource_type: str, props: Mapping[str, Any], settings: Settings) -> list[str]:
    """Credentials reach containers from Secrets, never as literal env, args or ConfigMap data."""
    fix = "put it in a Secret and reference it (env valueFrom.secretKeyRef, or $(VAR) in args)"
    findings = []
    for pod in pod_specs(resource_type, props):
        for container in pod.containers:
            for i, entry in enumerate(container.spec.get("env") or ()):
                if _is_map(entry) and "value" in entry:
                    if problem := _plain_secret(str(entry.get("name", "")), entry.get("value")):
                        findings.append(f"{container.path}.env[{i}] {entry.get('name')} {problem}")
            for key in ("command", "args"):
                findings.extend(_arg_findings(f"{container.path}.{key}", container.spec.get(key)))
    if resource_type == CONFIG_MAP:
        for key, value in (props.get("data") or {}).items():
            if problem := _plain_secret(str(key), value):
                findings.append(f"data.{key} {problem}")
    for path, key, value in _walk(_helm_values(resource_type, props), "values"):
        if isinstance(value, str) and _CREDENTIAL_VALUE.search(value):
            findings.append(f"{path} holds a credential")
    return [f"{finding}: {fix}" for finding in findings]


def check_not_privileged(resource_type: str, props: Mapping[str, Any], settings: Settings) -> list[str]:
    """No privileged containers, no privileged-equivalent capabilities, no host namespaces."""
    findings = []
    for pod in pod_specs(resource_type, props):
        for field in HOST_NAMESPACES:
            if pod.spec.get(field) is True:
                findings.append(f"{pod.path}.{field}: true shares the node's namespace")
        for container in pod.containers:
            if _get(container.spec, "securityContext", "privileged") is True:
                findings.append(f"{container.path}.securityContext.privileged: true")
            caps = sorted(_capabilities_added(container.spec) & PRIVILEGED_CAPABILITIES)
            if caps:
                findings.append(f"{container.path}.securityContext.capabilities.add: {', '.join(caps)} is privileged")
    for path, key, value in _walk(_helm_values(resource_type, props), "values"):
        if value is True and (key == "privileged" or key in HOST_NAMESPACES):
            findings.append(f"{path}: true")
    return findings


def check_isvc_readiness_timeout(resource_type: str, props: Mapping[str, Any], settings: Settings) -> list[str]:
    """`pulumi up` waits for each InferenceService to be Ready, for a bounded time."""
    if not is_inference_service(resource_type):
        return []
    annotations = _get(props, "metadata", "annotations")
    annotations = annotations if _is_map(annotations) else {}
    findings = []
    if str(annotations.get("pulumi.com/skipAwait", "")).lower() == "true":
        findings.append("pulumi.com/skipAwait is true: `pulumi up` would not wait for the model at all")
    wait_for = annotations.get("pulumi.com/waitFor")
    if not wait_for:
        findings.append("no pulumi.com/waitFor annotation: Pulumi does not await custom resources by default; "
                        "set it to condition=Ready")
    elif "Ready" not in str(wait_for):
        findings.append(f"pulumi.com/waitFor is {wait_for!r}: it must wait for the Ready condition")
    timeout = annotations.get("pulumi.com/timeoutSeconds")
    if timeout is None:
        findings.append("no pulumi.com/timeoutSeconds annotation: the readiness wait has no explicit bound")
    elif not str(timeout).isdigit() or int(str(timeout)) <= 0:
        findings.append(f"pulumi.com/timeoutSeconds is {timeout!r}: it must be a positive whole number of seconds")
    return [f"metadata.annotations: {finding}" for finding in findings]


# ------------------------------------------------------------------ policies

@dataclass(frozen=True)
class PolicySpec:
    name: str
    description: str
    check: Check
    config_schema: PolicyConfigSchema | None = None


_PLATFORM_SCHEMA = PolicyConfigSchema(properties={
    "platform": {
        "type": "string",
        "enum": list(PLATFORMS),
        "description": "The stack's platform; default: the stack config kserve-intel:platform.",
    },
})
_LIMITS_SCHEMA = PolicyConfigSchema(properties={
    "requiredLimits": {"type": "array", "items": {"type": "string"}, "default": ["cpu", "memory"]},
})
_TAGS_SCHEMA = PolicyConfigSchema(properties={
    "mutableTags": {"type": "array", "items": {"type": "string"}, "default": sorted(MUTABLE_TAGS)},
})

SPECS: tuple[PolicySpec, ...] = (
    PolicySpec("gaudi-only-on-gaudi-stacks",
               "Gaudi devices (habana.ai/*), the Gaudi capabilities (IPC_LOCK, SYS_NICE, SYS_PTRACE) and the "
               "habana RuntimeClass appear only on gaudi and gaudi3 stacks; SYS_NICE alone is also allowed on "
               "ServingRuntimes labelled kserve-intel/serving-stack=vllm-0.33 (NUMA binding).",
               check_gaudi_only_on_gaudi, _PLATFORM_SCHEMA),
    PolicySpec("containers-have-resource-limits",
               "Every container that runs (pods, workloads, InferenceService containers) has CPU and memory limits.",
               check_resource_limits, _LIMITS_SCHEMA),
    PolicySpec("images-pinned",
               "Container images are pinned by version tag or digest, never by a mutable tag such as latest.",
               check_pinned_images, _TAGS_SCHEMA),
    PolicySpec("no-plain-secrets",
               "Credentials never appear as literal env values, command-line args or ConfigMap data.",
               check_no_plain_secrets),
    PolicySpec("no-privileged-pods",
               "No privileged containers, no ALL/SYS_ADMIN capabilities, no host network, PID or IPC namespace.",
               check_not_privileged),
    PolicySpec("inference-services-await-readiness",
               "Every InferenceService carries pulumi.com/waitFor (Ready) and pulumi.com/timeoutSeconds, so "
               "`pulumi up` waits for the model to serve, for a bounded time.",
               check_isvc_readiness_timeout),
)


def settings_for(spec: PolicySpec, config: Mapping[str, Any]) -> Settings:
    """The settings a check needs, from the policy's config (and the stack for the platform)."""
    if spec.check is check_gaudi_only_on_gaudi:
        return Settings(platform=stack_platform(config))
    if spec.check is check_resource_limits and config.get("requiredLimits") is not None:
        return Settings(required_limits=tuple(config["requiredLimits"]))
    if spec.check is check_pinned_images and config.get("mutableTags") is not None:
        return Settings(mutable_tags=frozenset(str(t).lower() for t in config["mutableTags"]))
    return Settings()


def _validator(spec: PolicySpec) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in spec.check(args.resource_type, args.props, settings_for(spec, args.get_config())):
            report_violation(message, None)

    validate.__name__ = spec.name.replace("-", "_")
    return validate


def make_policy(spec: PolicySpec) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=spec.name,
        description=spec.description,
        validate=_validator(spec),
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=spec.config_schema,
    )


POLICIES: list[ResourceValidationPolicy] = [make_policy(spec) for spec in SPECS]
