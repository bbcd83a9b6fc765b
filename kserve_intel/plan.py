"""Resolve config, platform profile and catalogue into one plan per model.

Precedence, lowest to highest: platform profile, catalogue entry for the model
id on that platform, the model's own config. Checks that need resolved values
(tensor parallelism against the node, names against KServe's limits) live
here and raise the same `ConfigError` as config validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from . import naming
from .catalog.kserve import KServeRelease, hf_storage_uri, release
from .catalog.model_shapes import ModelShape, catalogue_shape
from .catalog.models import lookup, openvino_repo
from .catalog.platforms import PROFILES, PlatformProfile
from .catalog.serving_stacks import ServingStack
from .config.autoscaling import KedaConfig
from .config.stack import DEFAULT_HF_ENDPOINT, StackConfig
from .errors import ConfigError, ConfigIssue
from .rules import (autoscaling as scaling_rules, backends, canary as canary_rules, capacity as capacity_rules, charts,
                    custom_runtimes, hub, lora as lora_rules, model_shape, names, registry, serving_stacks,
                    traffic as traffic_rules)
from .rules.autoscaling import Scaling
from .rules.images import ImagePins, unresolved as unresolved_images
from .rules.canary import CanaryPlan
from .rules.local_model_cache import NodeGroupPlan, model_cache_issues, node_group_issues, node_group_plan
from .rules.multinode import multinode_issues
from .rules.ownership import Installs, default_installs


@dataclass(frozen=True)
class RuntimePlan:
    """One ClusterServingRuntime: a serving stack applied to the platform profile."""

    name: str
    stack: ServingStack
    # The platform profile with the stack's image, entry point, flags, env and capabilities.
    profile: PlatformProfile
    image: str
    # The stack-wide stack (`servingStack`); the others are picked by models[].servingStack.
    stack_wide: bool = True

    @property
    def multinode_name(self) -> str:
        return f"{self.name}-multinode"

    @property
    def model_format(self) -> str:
        """supportedModelFormats name: vLLM keeps the platform's (`vllm-intel-xeon`), others their own."""
        if self.stack.format_prefix == "vllm":
            return self.profile.model_format
        return f"{self.stack.format_prefix}-intel-{self.profile.name}"


@dataclass(frozen=True)
class ModelPlan:
    """Everything decided about one model before any manifest is written."""

    index: int
    id: str
    name: str
    served_model_name: str
    namespace: str
    gated: bool
    catalogued: bool
    tensor_parallel_size: int
    pipeline_parallel_size: int
    max_model_len: int
    args: tuple[str, ...]
    env: Mapping[str, str]
    resources: Mapping[str, Mapping[str, str]]
    scaling: Scaling = Scaling(engine=None, min_replicas=1, max_replicas=1)
    revision: str | None = None
    canary: CanaryPlan | None = None
    # Nodes one replica spans; > 1 means a Ray head plus nodes - 1 workers.
    nodes: int = 1
    # Disk the weights take in the local model cache; None: not cached.
    local_cache_size: str | None = None
    # Weights from the model registry (MLflow), resolved; None: from Hugging Face.
    source: registry.ResolvedSource | None = None
    # LoRA adapters on this base (rules/lora.py); None: no adapters.
    lora: lora_rules.LoraPlan | None = None
    # How long `pulumi up` waits for it to be Ready (models[].readyTimeoutMinutes, else the stack's).
    ready_timeout_minutes: int = 90
    # The runtime (serving stack) this model runs; set by build_plan for every model.
    runtime: RuntimePlan | None = None
    # The model's architecture facts (catalogue, or its config.json read from the hub); None: unknown.
    shape: ModelShape | None = None
    # What its pod needs and gets (rules/capacity.py); None: not computed (no shape, or not vLLM).
    capacity: capacity_rules.Capacity | None = None

    @property
    def serving_stack(self) -> ServingStack | None:
        return self.runtime.stack if self.runtime else None

    @property
    def backend(self) -> str:
        """The server family: vllm, tgi, ovms, or custom (a runtime from runtimes.custom)."""
        return self.runtime.stack.backend if self.runtime else "vllm"

    @property
    def openai_path(self) -> str:
        """The base path of the server's OpenAI API (vLLM and TGI: /v1)."""
        return self.runtime.stack.openai_path if self.runtime else "/v1"

    @property
    def multinode(self) -> bool:
        return self.nodes > 1

    @property
    def local_cache(self) -> bool:
        return self.local_cache_size is not None

    @property
    def source_uri(self) -> str:
        """The weights as a KServe storage URI: `hf://<id>[:<revision>]`."""
        return hf_storage_uri(self.id, self.revision)

    @property
    def config_path(self) -> str:
        return f"models[{self.index}]"

    @property
    def accelerators(self) -> int:
        """Accelerators per pod: pipeline stages on other nodes bring their own."""
        return self.tensor_parallel_size * (1 if self.multinode else self.pipeline_parallel_size)

    @property
    def in_cluster_url(self) -> str:
        # RawDeployment: KServe's predictor Service, port 80 -> 8080. Serverless: the
        # Service Knative points at its internal gateway, which routes by this host.
        return f"http://{naming.predictor_host(self.name, self.namespace)}"

    @property
    def openai_base_url(self) -> str:
        # The server's own OpenAI path (vLLM: /v1; no KServe /openai prefix).
        return f"{self.in_cluster_url}{self.openai_path}"

    def external_url(self, ingress_domain: str, knative_predictor: bool = False) -> str:
        if knative_predictor:
            # Knative's route of the predictor, domain-template {{.Name}}.{{.Namespace}}.{{.Domain}}:
            # what KServe reports as the URL when its Istio virtual host is disabled (Kourier).
            return f"http://{naming.predictor_service(self.name)}.{self.namespace}.{ingress_domain}"
        # KServe's default domainTemplate: {{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}
        return f"http://{self.name}-{self.namespace}.{ingress_domain}"


@dataclass(frozen=True)
class StackPlan:
    config: StackConfig
    release: KServeRelease
    profile: PlatformProfile
    image: str
    node_selector: Mapping[str, str]
    max_tensor_parallel_size: int
    models: tuple[ModelPlan, ...]
    warnings: tuple[str, ...]
    # The Pulumi stack name, for labels that let logs and metrics be queried
    # per stack; empty when planned outside a Pulumi run.
    stack: str = ""
    # KServe's local model cache node group; None unless localModelCache.enabled.
    local_model_cache: NodeGroupPlan | None = None
    # The stack-wide pinned server (its values are already applied to `profile`).
    serving_stack: ServingStack | None = None
    # The runtimes the stack creates: the stack-wide one first, then each stack a model picks.
    runtimes: tuple[RuntimePlan, ...] = ()
    # How every image is applied (mirrors, digests): builders write `plan.applied_image(ref)`, never `ref` itself.
    # build_plan applies the config's mirrors and digests; components.image_pins resolves at preview/up.
    images: ImagePins = ImagePins()
    # What the stack installs, `auto` resolved: as on an empty cluster until the ownership look
    # (components/ownership.py, rules/ownership.py) resolves it from the cluster.
    installs: Installs = Installs(kserve=True, cert_manager=True, knative=False, keda=False)
    # The owner stamp on every object (`<org>/<project>/<stack>`, naming.owner_id); empty outside a Pulumi run.
    owner: str = ""
    # `adopt` names the ownership look took over: stamped as adopted and never deleted (retain_on_delete).
    adopted: frozenset[str] = field(default_factory=frozenset)

    def applied_image(self, ref: str) -> str:
        """An image as the stack applies it: mirrored (`images.mirrors`) and pinned by digest when known."""
        return self.images.applied(ref)

    @property
    def deployment_mode(self) -> str:
        """Mode name as this KServe version spells it."""
        return self.release.serverless_mode if self.config.kserve.serverless else self.release.raw_mode

    @property
    def autoscaling_engine(self) -> str | None:
        """hpa, keda or knative; None when models run a fixed replica."""
        scaling = self.config.autoscaling
        if not scaling.enabled:
            return None
        return scaling.engine or scaling_rules.default_engine(self.config.kserve.serverless)

    @property
    def keda_config(self) -> KedaConfig:
        return self.config.autoscaling.keda or KedaConfig()

    @property
    def install_keda(self) -> bool:
        return self.installs.keda

    @property
    def install_knative(self) -> bool:
        return self.installs.knative

    @property
    def install_kserve(self) -> bool:
        """This stack installs the KServe CRDs and controller (`kserve.install`, `auto` resolved)."""
        return self.installs.kserve

    @property
    def install_cert_manager(self) -> bool:
        return self.installs.cert_manager

    @property
    def runtime_name(self) -> str:
        """The stack-wide stack's runtime name (`intel-vllm-<platform>`, or encoded for another backend)."""
        return self.primary_runtime.name

    @property
    def primary_runtime(self) -> RuntimePlan:
        """The stack-wide runtime (what builders use when no model is given), planned or not."""
        planned = [r for r in self.runtimes if r.stack_wide]
        if planned:
            return planned[0]
        name = serving_stacks.runtime_name(self.profile, self.serving_stack, True)
        return RuntimePlan(name, self.serving_stack, self.profile, self.image)

    @property
    def capabilities(self) -> tuple[str, ...]:
        """Capabilities any runtime in use adds: the namespace's pod security level follows them."""
        runtimes = self.runtimes or (self.primary_runtime,)
        return tuple(dict.fromkeys(c for r in runtimes for c in r.profile.capabilities))

    @property
    def knative_predictor_urls(self) -> bool:
        """Serverless with Kourier: KServe's Istio virtual host is off, so a model's URL is its predictor's Knative route."""
        kserve = self.config.kserve
        return kserve.serverless and kserve.networking_layer == "kourier"

    def external_url(self, model: ModelPlan) -> str:
        """Where the cluster's ingress serves a model (the InferenceService's status.url)."""
        return model.external_url(self.config.kserve.ingress_domain, self.knative_predictor_urls)


# Extra time on top of the platform's startup window for pulling a multi-GB image.
IMAGE_PULL_MINUTES = 30


def stack_ready_timeout_minutes(config: StackConfig, profile: PlatformProfile) -> int:
    """The stack-wide ready timeout: `readyTimeoutMinutes`, else the startup window plus the image pull."""
    return config.ready_timeout_minutes or profile.startup_minutes + IMAGE_PULL_MINUTES


def build_plan(config: StackConfig, stack: str = "", shapes: Mapping[str, ModelShape] | None = None) -> StackPlan:
    """Resolve every model; raise `ConfigError` listing all problems.

    `shapes`: model shapes read from the hub (lower-cased id -> shape) for models the catalogue lacks
    (components/hub_access.py reads them online); the catalogue's own come from catalog/model_shapes.py.
    """
    serving = serving_stacks.resolve(config)
    platform = PROFILES[config.platform]
    profile = serving.applied_to(platform)
    runtimes = config.runtimes
    image = runtimes.image or profile.image
    runtime_plans = {
        stack.name: RuntimePlan(
            name=serving_stacks.runtime_name(platform, stack, stack.name == serving.name),
            stack=stack,
            profile=profile if stack.name == serving.name else stack.applied_to(platform),
            # runtimes.image replaces the stack-wide stack's image only.
            image=image if stack.name == serving.name else stack.image,
            stack_wide=stack.name == serving.name,
        )
        for stack in serving_stacks.in_use(config)
    }
    max_tp = runtimes.accelerators_per_node or profile.max_tensor_parallel_size
    issues: list[ConfigIssue] = []
    warnings: list[str] = serving_stacks.serving_stack_warnings(config)
    kserve_release = release(config.kserve.version)
    node_selector = dict(runtimes.node_selector if runtimes.node_selector is not None else profile.node_selector)
    node_group = node_group_plan(config, kserve_release, profile, node_selector)
    issues.extend(node_group_issues(node_group))
    # The one pass over the model registry (read-only calls), before any model is planned.
    resolution = registry.resolve_sources(config)
    issues.extend(resolution.issues)
    warnings.extend(resolution.warnings)
    models = tuple(
        _resolve_model(i, m, config, max_tp, kserve_release, issues, warnings, node_group, resolution,
                       runtime_plans[serving_stacks.resolve_model(config, m).name], shapes or {})
        for i, m in enumerate(config.models)
    )
    issues.extend(names.model_name_collisions(models))
    issues.extend(names.derived_name_collisions(
        models, kserve_release.supports_spec_canary and not config.kserve.serverless))
    issues.extend(names.served_name_collisions(models))
    issues.extend(names.runtime_name_collisions(runtime_plans.values()))
    issues.extend(lora_rules.namespace_collisions(models))
    if config.kserve.serverless and config.kserve.knative_source == "existing" and any(
            m.lora is not None and m.lora.via_storage_uris for m in models):
        warnings.append(lora_rules.EXISTING_KNATIVE_WARNING)
    issues.extend(hub.token_required(config, models))
    issues.extend(traffic_rules.egress_issues(config, fetched_sources(models)))
    issues.extend(scaling_rules.backend_metric_issues(models))
    if issues:
        raise ConfigError(issues)
    scaling = config.autoscaling
    if config.storage.enabled and config.storage.access_mode == "ReadWriteOnce" and scaling.enabled and scaling.max_replicas > 1:
        warnings.append(
            "storage.accessMode is ReadWriteOnce and autoscaling.maxReplicas > 1: extra replicas can only "
            "start on the node that already mounts the cache; use ReadWriteMany to spread them."
        )
    plan = StackPlan(
        config=config,
        release=kserve_release,
        profile=profile,
        image=image,
        node_selector=MappingProxyType(node_selector),
        max_tensor_parallel_size=max_tp,
        models=models,
        warnings=tuple(warnings),
        stack=stack,
        local_model_cache=node_group,
        serving_stack=serving,
        runtimes=tuple(runtime_plans.values()),
        images=unresolved_images(config),
        installs=default_installs(config),
    )
    unused_mirrors = list(charts.unused_issues(config.chart_repositories, installed_releases(plan)))
    if unused_mirrors:
        raise ConfigError(unused_mirrors)
    return plan


def _resolve_model(index, model, config, max_tp, kserve_release, issues, warnings, node_group, resolution,
                   runtime: RuntimePlan, shapes: Mapping[str, ModelShape]) -> ModelPlan:
    path = f"models[{index}]"
    profile, stack = runtime.profile, runtime.stack
    source = resolution.of(f"{path}.source") if resolution else None
    entry = lookup(model.id)
    tuning = entry.tuning(profile.name) if entry else None
    if entry is None:
        warnings.append(f"{path} {model.id}: not in the catalogue; using {profile.name} defaults.")
    elif tuning is None:
        warnings.append(f"{path} {model.id}: Intel lists no {profile.name} settings for it; using platform defaults.")

    tp = model.tensor_parallel_size or (tuning.tensor_parallel_size if tuning else 1)
    nodes = model.nodes or (tuning.nodes if tuning else 1)
    pp = nodes if nodes > 1 else (model.pipeline_parallel_size or 1)
    per_pod = tp if nodes > 1 else tp * pp
    if per_pod > max_tp:
        key = "tensorParallelSize" if model.tensor_parallel_size or pp == 1 else "pipelineParallelSize"
        value = tp if key == "tensorParallelSize" else pp
        unit = "accelerators" if profile.accelerator else "NUMA nodes"
        issues.append(ConfigIssue(
            f"{path}.{key}", f"needs {per_pod} {unit} (tensor x pipeline parallel) but a {profile.name} node has "
            f"{max_tp}; allowed: tensorParallelSize x pipelineParallelSize <= {max_tp} "
            "(runtimes.acceleratorsPerNode), or spread the model over several nodes with `nodes`", value,
        ))
    vllm_version = stack.parser_version or stack.version
    shape = catalogue_shape(model.id) or shapes.get(model.id.lower())
    max_len = model.max_model_len or (tuning.max_model_len if tuning and tuning.max_model_len else
                                      model_shape.default_max_len(shape, vllm_version, profile.default_max_model_len))

    limit = naming.max_model_name_length(config.namespace)
    if model.name is not None:
        name = model.name
        if len(name) > limit:
            issues.append(ConfigIssue(
                f"{path}.name", f"is {len(name)} characters; at most {limit} fit KServe's "
                f"'<name>-predictor-{config.namespace}' host label (63)", name,
            ))
    else:
        name = naming.model_name(model.source.registered_model if model.source else model.id, config.namespace)
    if limit < 8:
        issues.append(ConfigIssue(
            "namespace", f"is too long to leave room for model names (at most {63 - 11 - 8} characters)",
            config.namespace,
        ))

    served = model.served_model_name or (model.source.registered_model if model.source else model.id)
    stack_tuned = stack.tuning(profile.name, tp * pp)
    # KServe refuses storageUris beside model.storageUri: the local model cache needs model.storageUri (its
    # LocalModelCache matches it); a registry base joins the adapters' storageUris (builders/registry.py).
    base_storage_uri = model.local_cache is not None and node_group is not None
    issues.extend(backends.model_issues(path, model, stack, nodes, pp, tp, base_storage_uri))
    vllm = stack.backend == "vllm"
    ovms_repo = openvino_repo(model.id) if stack.backend == "ovms" else None

    def command_line(revision, extra_args) -> list[str]:
        """The model's arguments in its backend's own syntax (the runtime adds the listen flags)."""
        if stack.backend == "tgi":
            return backends.tgi_args(model.id, tp, max_len, revision, extra_args, stack_tuned)
        if stack.backend == "ovms":
            return backends.ovms_args(ovms_repo or model.id, served, extra_args)
        if stack.backend == "custom":
            return list(extra_args)
        line = backends.vllm_args(model.id, served, tp, pp, max_len, entry, tuning, revision, extra_args,
                                  stack_tuned, profile.model_positional)
        return registry.mounted_args(line) if model.source is not None else line

    args = command_line(model.revision, model.extra_args)
    storage_uris = lora_rules.via_storage_uris(kserve_release, base_storage_uri)
    # Registry adapters are resolved with the models' sources (registry.resolve_sources).
    # An hfEndpoint mirror reaches KServe's storage initializer only from v0.20 (builders/downloads.py); before,
    # vLLM downloads the hub adapters itself, from the mirror.
    mirror = config.hf_endpoint != DEFAULT_HF_ENDPOINT and not kserve_release.supports_storage_container_name
    adapter_sources = dict(sources=resolution.of if resolution else None,
                           why_not=lora_rules.why_not_storage_uris(kserve_release, base_storage_uri),
                           hub_mirror=config.hf_endpoint if mirror else None)
    lora = lora_rules.resolve(path, model.adapters, model.lora, served, stack, profile.name, storage_uris,
                              issues, warnings, model.env, model.extra_args, **adapter_sources) if stack else None
    # A Standard-mode canary (spec.canary, v0.20) gets no storage initializer for storageUris: its adapters are
    # downloaded by vLLM (hub) or refused (registry), and it does not inherit the model's storageUris plan.
    standard_canary = (model.canary is not None and not config.kserve.serverless
                       and kserve_release.supports_spec_canary and not kserve_release.canary_storage_uris)
    canary_storage_uris = storage_uris and not standard_canary
    canary_sources = dict(adapter_sources, why_not=adapter_sources["why_not"] or (
        "a Standard-mode canary (spec.canary) gets no storage initializer for predictor.storageUris in KServe "
        f"{kserve_release.tag} (it builds the canary's pods without them), so vLLM downloads its adapters from "
        "the hub") if standard_canary else adapter_sources["why_not"])
    canary_base_lora = lora
    if standard_canary and model.canary.adapters is None and lora is not None and lora.via_storage_uris and stack:
        canary_base_lora = lora_rules.resolve(f"{path}.canary", model.adapters, model.lora, served, stack,
                                              profile.name, False, issues, [], model.env, model.extra_args,
                                              **canary_sources)
    if lora is not None:
        args += list(lora.args)

    # The catalogue's flags and variables are vLLM's: other backends get only their stack's tuned values.
    catalogue_env = tuning.env if tuning and vllm else {}
    backend_env = (custom_runtimes.model_env(model.id, served, max_len, tp, model.revision)
                   if stack.backend == "custom" else {})
    env = {**stack_tuned.env, **catalogue_env, **backend_env, **model.env}
    resources = profile.pod_resources(per_pod)
    custom = config.runtimes.custom[stack.custom_index] if stack.custom_index is not None else None
    custom_runtimes.custom_resources(custom, resources)
    if model.resources:
        for kind in ("requests", "limits"):
            resources[kind].update(getattr(model.resources, kind))
    issues.extend(capacity_rules.resource_issues(path, profile.name, profile.accelerator, resources))
    capacity = None
    if vllm:
        if profile.name == "xeon":
            issues.extend(capacity_rules.kv_space_issues(path, model.env))
            if model.canary is not None and model.canary.env:
                issues.extend(capacity_rules.kv_space_issues(f"{path}.canary", model.canary.env))
        if shape is not None and per_pod <= max_tp:  # a size the node cannot host is refused once, above
            found, notes = model_shape.shape_issues(path, shape, tp, pp, nodes, max_len, vllm_version,
                                                    {**profile.env, **env}, max_tp, stack.server)
            issues.extend(found)
            warnings.extend(notes)
        memory_given = any("memory" in r for r in (
            *((model.resources.requests, model.resources.limits) if model.resources else ()),
            *((custom.resources.requests, custom.resources.limits) if custom and custom.resources else ())))
        sized = capacity_rules.plan_capacity(path, profile.name, stack, shape, tp, pp, nodes, max_len,
                                             [*profile.args, *args], {**profile.env, **env}, resources, memory_given)
        issues.extend(sized.issues)
        capacity = sized.capacity
        if sized.memory is not None:
            resources["requests"]["memory"] = resources["limits"]["memory"] = sized.memory
    if profile.accelerator:
        for kind in ("requests", "limits"):
            if resources[kind].get(profile.accelerator) != str(per_pod):
                issues.append(ConfigIssue(
                    f"{path}.resources.{kind}.{profile.accelerator}", "is derived from tensorParallelSize x "
                    f"pipelineParallelSize ({per_pod}); set those instead", resources[kind].get(profile.accelerator),
                ))
    else:
        cpu_req, cpu_lim = resources["requests"].get("cpu"), resources["limits"].get("cpu")
        if cpu_req != cpu_lim or not (cpu_req or "").isdigit():
            issues.append(ConfigIssue(
                f"{path}.resources", "on Xeon, requests.cpu and limits.cpu must be equal whole numbers so the pod "
                "gets Guaranteed QoS and pinned cores", {"requests.cpu": cpu_req, "limits.cpu": cpu_lim},
            ))
        if resources["requests"].get("memory") != resources["limits"].get("memory"):
            issues.append(ConfigIssue(
                f"{path}.resources", "on Xeon, requests.memory must equal limits.memory (Guaranteed QoS)",
                {"requests.memory": resources["requests"].get("memory"), "limits.memory": resources["limits"].get("memory")},
            ))

    gated = model.gated if model.gated is not None else (entry.gated if entry else True)
    if ovms_repo is not None and model.gated is None:
        gated = False  # OVMS pulls the OpenVINO organisation's open conversion, not the original repository
    if model.source is not None:
        gated = False  # the weights come from the registry's store, not the hub
        issues.extend(registry.model_issues(path, model, nodes))
    scaling = scaling_rules.resolve(config, model)
    issues.extend(multinode_issues(path, model, config, kserve_release, profile, nodes, scaling))
    issues.extend(model_cache_issues(path, model, nodes, node_group))
    canary = canary_rules.resolve_canary(
        path, model, config, kserve_release, name, nodes, scaling, issues, warnings, command_line=command_line,
        resolve_adapters=lambda key, adapters, env_, extra: lora_rules.resolve(
            key, adapters, model.lora, served, stack, profile.name, canary_storage_uris, issues, [], env_, extra,
            **canary_sources),
        lora=canary_base_lora, env=env, source=(resolution.of(f"{path}.canary.source") if resolution else None) or source,
    )
    return ModelPlan(
        index=index,
        id=model.id,
        name=name,
        served_model_name=served,
        namespace=config.namespace,
        gated=gated,
        catalogued=tuning is not None,
        tensor_parallel_size=tp,
        pipeline_parallel_size=pp,
        max_model_len=max_len,
        args=tuple(args),
        env=MappingProxyType(env),
        resources=MappingProxyType({k: MappingProxyType(v) for k, v in resources.items()}),
        scaling=scaling,
        revision=model.revision,
        canary=canary,
        nodes=nodes,
        local_cache_size=model.local_cache.size if model.local_cache is not None and node_group is not None else None,
        source=source,
        lora=lora,
        ready_timeout_minutes=model.ready_timeout_minutes or stack_ready_timeout_minutes(config, profile),
        runtime=runtime,
        shape=shape,
        capacity=capacity,
    )


def installed_releases(plan: StackPlan) -> list[str]:
    """Release names the stack installs, under the same conditions the components use."""
    releases: list[str] = []
    if plan.install_kserve:
        if plan.install_cert_manager:
            releases.append("cert-manager")
        releases += [plan.release.crd_chart, plan.release.controller_chart]
        if plan.local_model_cache is not None and plan.release.localmodel_separate_charts:
            releases += ["kserve-localmodel-crd", "kserve-localmodel-resources"]
    if plan.install_knative:
        releases.append("knative-operator")
    if plan.install_keda:
        releases.append("keda")
    return releases


def fetched_sources(models: tuple[ModelPlan, ...] | list[ModelPlan]) -> list[tuple[str, str]]:
    """(config key, store URI) of everything KServe's storage initializer fetches into a predictor pod from a
    registry's store: the models', the canaries' and the registry adapters' (the network policy opens each store)."""
    sources = []
    for model in models:
        path = model.config_path
        canary = model.canary
        for key, source in ((f"{path}.source", model.source),
                            (f"{path}.canary.source", canary.source if canary is not None else None)):
            if source is not None:
                sources.append((key, source.storage_uri))
        for key, lora in ((f"{path}.adapters", model.lora),
                          (f"{path}.canary.adapters", canary.lora if canary is not None else None)):
            if lora is not None:
                sources += [(key, a.source.storage_uri) for a in lora.adapters if a.source is not None]
    return sources


def model_runtime(plan: StackPlan, model: ModelPlan | None = None) -> RuntimePlan:
    """The runtime a model runs (its serving stack's); the stack-wide one without a model."""
    return model.runtime if model is not None and model.runtime is not None else plan.primary_runtime


def served_by(plan: StackPlan, model: ModelPlan) -> str:
    """The name of the ClusterServingRuntime a model's InferenceService names."""
    runtime = model_runtime(plan, model)
    return runtime.multinode_name if model.multinode else runtime.name


def ready_timeout_minutes(plan: StackPlan, model: ModelPlan | None = None) -> int:
    """How long `pulumi up` waits for a model (None: for any model of the stack) to become Ready."""
    if model is not None:
        return model.ready_timeout_minutes
    return max([stack_ready_timeout_minutes(plan.config, plan.profile), *(m.ready_timeout_minutes for m in plan.models)])


# The startup probe asks /health this often; its window is failureThreshold x period.
STARTUP_PROBE_PERIOD_SECONDS = 30
# `up` awaits the weights Job this much past the Job's own deadline, so what it reports is the Job's own
# failure (DeadlineExceeded, with the pod's last state), not a bare timeout of the await.
WEIGHTS_AWAIT_MARGIN_MINUTES = 2


@dataclass(frozen=True)
class ModelClock:
    """Every deadline of one model (or, with no model, the stack-wide defaults), from one number.

    `ready_minutes` is how long `pulumi up` waits for the InferenceService to be Ready (readyTimeoutMinutes).
    `load_minutes` is how long the cluster itself lets the model load before it gives up: the startup probe's
    window, the multi-node weights Job's activeDeadlineSeconds and the Knative progress deadline. It is
    readyTimeoutMinutes, never less than the platform's startup window (a pod keeps loading when `up` has
    stopped waiting, so the next `up` finds it Ready), so raising readyTimeoutMinutes lengthens every one.
    """

    ready_minutes: int
    load_minutes: int

    @property
    def ready_seconds(self) -> int:
        return self.ready_minutes * 60

    @property
    def startup_probe_failures(self) -> int:
        """failureThreshold of a startup probe every STARTUP_PROBE_PERIOD_SECONDS covering the load window."""
        return -(-self.load_minutes * 60 // STARTUP_PROBE_PERIOD_SECONDS)

    @property
    def weights_deadline_seconds(self) -> int:
        """activeDeadlineSeconds of the multi-node weights Job."""
        return self.load_minutes * 60

    @property
    def weights_await_minutes(self) -> int:
        """How long `up` awaits the weights Job (customTimeouts and pulumi.com/timeoutSeconds)."""
        return self.load_minutes + WEIGHTS_AWAIT_MARGIN_MINUTES

    @property
    def progress_deadline(self) -> str:
        """Knative's progress deadline (`serving.knative.dev/progress-deadline`, config-deployment)."""
        return f"{self.load_minutes}m"


def model_clock(plan: StackPlan, model: ModelPlan | None = None) -> ModelClock:
    """The one place every wait and deadline of a model derives from (ModelClock says how).

    Without a model: the stack-wide default (`readyTimeoutMinutes`), which the shared runtimes' own startup
    probe follows; each InferenceService overrides that probe with its model's (builders/model.py).
    """
    startup = plan.profile.startup_minutes
    ready = model.ready_timeout_minutes if model is not None else stack_ready_timeout_minutes(plan.config, plan.profile)
    return ModelClock(ready, max(ready, startup))


def delete_timeout_minutes(plan: StackPlan) -> int:
    """How long `pulumi destroy` waits for an InferenceService to be gone before it fails."""
    return plan.config.delete_timeout_minutes
