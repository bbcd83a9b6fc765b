"""Every image a stack runs, in one list, and how the charts' images reach the releases' values.

`stack_images(plan)` is what `make images STACK=...` prints, what the stack output `images` lists and what
components/image_pins.py resolves at `preview`/`up`: the runtimes of every serving stack in use (their Jobs run
the same image), canary images, the local model download container, and the images of the Helm charts the stack
installs at their pinned versions (catalog/data/chart_images.yaml: KServe controller, kube-rbac-proxy, storage
initializer KServe injects, cert-manager, KEDA, the Knative operator and what it deploys). Images a chart only
runs for a feature the program never uses (KServe's agent and router, cert-manager's ACME solver, the sample
ClusterServingRuntimes) are left out.

`chart_image_values(plan, release)` gives the values that make a release deploy each of its images as the stack
applies it (mirrored, pinned), through the keys the chart reads them from.
"""

from __future__ import annotations

from typing import Any, Iterable

from ..catalog import chart_images as catalog
from ..catalog.chart_images import QUEUE_PROXY_ROLE, REPLACEMENTS, ChartImage
from ..plan import RuntimePlan, StackPlan
from ..rules.images import PULL_SECRET, ImageUse

# Chart images a pod runs given what the program configures (see the module doc).
_RUNS_WHEN_ENABLED = {"localmodel-controller", "localmodel-node-agent"}


def _runtime_use(plan: StackPlan, runtime: RuntimePlan) -> ImageUse:
    stack = runtime.stack
    what = f"runtime {runtime.name} (serving stack {stack.name})"
    config = plan.config
    if stack.custom_index is not None:
        return ImageUse(runtime.image, f"runtimes.custom[{stack.custom_index}].image", runtime.image, what)
    if runtime.stack_wide:
        if config.runtimes.image:
            return ImageUse(runtime.image, "runtimes.image", runtime.image, what)
        key = "servingStack" if config.serving_stack or not config.backend else "backend"
        return ImageUse(runtime.image, key, stack.name, what)
    model = next((m for m in plan.models if m.runtime is not None and m.runtime.name == runtime.name), None)
    path = model.config_path if model is not None else "models"
    model_config = config.models[model.index] if model is not None else None
    key = f"{path}.servingStack" if model_config is None or model_config.serving_stack else f"{path}.backend"
    return ImageUse(runtime.image, key, stack.name, what)


def chart_releases(plan: StackPlan) -> list[tuple[str, str, str, Any]]:
    """(release/chart, version, config key, value) of every chart the stack installs, as the components do."""
    kserve = plan.config.kserve
    release = plan.release
    found: list[tuple[str, str, str, Any]] = []
    if plan.install_kserve:
        if plan.install_cert_manager:
            version = kserve.cert_manager_version or release.cert_manager_version
            found.append(("cert-manager", version, "kserve.certManagerVersion", version))
        found.append((release.controller_chart, release.tag, "kserve.version", release.tag))
        if plan.local_model_cache is not None and release.localmodel_separate_charts:
            found.append(("kserve-localmodel-resources", release.tag, "localModelCache.enabled", True))
    if plan.install_knative:
        found.append(("knative-operator", release.knative_operator_chart_version, "kserve.knative", "install"))
    if plan.install_keda:
        version = plan.keda_config.version or release.keda_chart_version
        found.append(("keda", version, "autoscaling.keda.version", version))
    return found


def _runs(plan: StackPlan, image: ChartImage) -> bool:
    if image.runs is True:
        return True
    return image.runs == "when-enabled" and image.role in _RUNS_WHEN_ENABLED and plan.local_model_cache is not None


def chart_images(plan: StackPlan, chart: str, version: str) -> list[ChartImage]:
    """The images of one installed chart that run, as the program deploys them (replacements applied)."""
    listed = catalog.images(chart, version) or ()
    return [image for image in listed if _runs(plan, image)]


def effective(image: ChartImage) -> str:
    """The reference the program deploys for a chart image (a catalogue replacement, else the chart's)."""
    return REPLACEMENTS.get(image.image, image.image)


def knative_images(plan: StackPlan) -> list[ChartImage]:
    """What the Knative operator deploys for the stack's Serving version and networking layer."""
    if not plan.install_knative:
        return []
    return list(catalog.knative_serving_images(plan.release.knative_serving_version,
                                              plan.config.kserve.networking_layer) or ())


def stack_images(plan: StackPlan) -> list[ImageUse]:
    """Every image the stack runs, each with what brings it (one entry per use; `distinct` dedupes)."""
    uses = [_runtime_use(plan, runtime) for runtime in plan.runtimes]
    for model in plan.models:
        if model.canary is not None and model.canary.image:
            uses.append(ImageUse(model.canary.image, f"{model.config_path}.canary.image", model.canary.image,
                                 f"canary of model {model.name}"))
    if plan.local_model_cache is not None:
        image = plan.release.storage_initializer_image
        uses.append(ImageUse(image, "localModelCache.enabled", True,
                             "local model download jobs (ClusterStorageContainer kserve-intel-hf-download)"))
    for chart, version, key, value in chart_releases(plan):
        for image in chart_images(plan, chart, version):
            uses.append(ImageUse(effective(image), key, value, f"chart {chart} {version}: {image.role}"))
    knative_version = plan.release.knative_serving_version
    for image in knative_images(plan):
        uses.append(ImageUse(image.image, "kserve.knative", "install",
                             f"Knative Serving {knative_version} (operator): {image.role}"))
    return uses


def unknown_charts(plan: StackPlan) -> list[str]:
    """Installed chart versions the image catalogue does not list: their images are not listed nor mirrored."""
    return [f"{chart} {version} ({key})" for chart, version, key, _ in chart_releases(plan)
            if catalog.images(chart, version) is None]


def distinct(uses: Iterable[ImageUse]) -> list[str]:
    """Each image once, in order of first use."""
    return list(dict.fromkeys(use.image for use in uses))


def images_summary(plan: StackPlan) -> list[dict[str, Any]]:
    """The stack output `images`: each image once, what the nodes pull, and what runs it."""
    summary: dict[str, dict[str, Any]] = {}
    for use in stack_images(plan):
        entry = summary.setdefault(use.image, {"image": use.image, "pulled": plan.applied_image(use.image), "usedBy": []})
        if use.what not in entry["usedBy"]:
            entry["usedBy"].append(use.what)
    return list(summary.values())


# ------------------------------------------------------------------------------------------------ chart values

def _set(values: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _image_values(plan: StackPlan, image: ChartImage, values: dict[str, Any]) -> None:
    ref = effective(image)
    keys = image.values
    if plan.applied_image(ref) == image.image:
        return  # deployed as the chart has it: no value needed
    if "image" in keys:
        _set(values, keys["image"], plan.applied_image(ref))
        return
    if "repository" not in keys:
        return
    repository, tag, digest = plan.images.parts(ref)
    _set(values, keys["repository"], repository)
    if "digest" in keys:  # cert-manager: the digest replaces the tag (_helpers.tpl define "image")
        if digest:
            _set(values, keys["digest"], digest)
        if tag and "tag" in keys:
            _set(values, keys["tag"], tag)
        return
    if "registry" in keys:  # KEDA: <registry>/<repository> when a registry is set; the repository is full here
        _set(values, keys["registry"], "")
    if "tag" in keys and tag:
        _set(values, keys["tag"], f"{tag}@{digest}" if digest else tag)


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` merged into a copy of `base` (nested dicts merged, other values replaced)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def chart_image_values(plan: StackPlan, chart: str, version: str) -> dict[str, Any]:
    """Values that make `chart` deploy its images as the stack applies them, and take the pull secret."""
    values: dict[str, Any] = {}
    for image in chart_images(plan, chart, version):  # what runs: the images `make images` lists
        _image_values(plan, image, values)
    if needs_pull_secret(plan):
        key = PULL_SECRET_VALUES.get(chart)
        if chart in ("kserve", "kserve-resources") and plan.release.minor < 17:
            key = None  # the v0.13-v0.16 charts take no pull secret for the controller
        if key:
            _set(values, key, [{"name": PULL_SECRET}])
    return values


# Where a chart takes pull secrets for its pods: KServe v0.17+ `kserve.controller.imagePullSecrets`
# (files/kserve/serviceaccount-patch.yaml, on the controller's ServiceAccount), cert-manager
# `global.imagePullSecrets`, KEDA `imagePullSecrets`. The Knative operator chart has none.
PULL_SECRET_VALUES = {
    "kserve-resources": "kserve.controller.imagePullSecrets",
    "cert-manager": "global.imagePullSecrets",
    "keda": "imagePullSecrets",
}


def needs_pull_secret(plan: StackPlan) -> bool:
    return bool(plan.config.images.credentials)


def pull_secret(plan: StackPlan, namespace: str) -> dict[str, Any]:
    """The pull Secret without its data; the component adds `.dockerconfigjson` as a Pulumi secret."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": PULL_SECRET, "namespace": namespace,
                     "labels": {"app.kubernetes.io/name": PULL_SECRET, "app.kubernetes.io/component": "credentials",
                                "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "kserve-intel"}},
        "type": "kubernetes.io/dockerconfigjson",
    }


def pull_secret_refs(plan: StackPlan) -> list[dict[str, str]]:
    """`imagePullSecrets` of a pod the program creates (empty without credentials)."""
    return [{"name": PULL_SECRET}] if needs_pull_secret(plan) else []


def knative_registry(plan: StackPlan) -> dict[str, Any]:
    """`KnativeServing.spec.registry`: overrides for every image that is mirrored or pinned, pull secrets."""
    registry: dict[str, Any] = {}
    override = {}
    for image in knative_images(plan):
        key = image.values.get("override")
        if key and plan.applied_image(image.image) != image.image:
            override[key] = plan.applied_image(image.image)
    if override:
        registry["override"] = dict(sorted(override.items()))
    if needs_pull_secret(plan):
        registry["imagePullSecrets"] = [{"name": PULL_SECRET}]
    return registry


def queue_sidecar_image(plan: StackPlan) -> str | None:
    """The queue-proxy image for config-deployment `queue-sidecar-image`, when mirrored; None: Knative's own."""
    for image in knative_images(plan):
        if image.role == QUEUE_PROXY_ROLE and plan.applied_image(image.image) != image.image:
            return plan.applied_image(image.image)
    return None
