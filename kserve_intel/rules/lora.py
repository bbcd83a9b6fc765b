"""LoRA adapters on a shared base model: several served models behind one InferenceService.

One vLLM server holds the base model and `models[].adapters[]`; a client picks an adapter by the
`model` field of its OpenAI request (`/v1/models` lists the base and each adapter with `parent`).
Everything about adapters but the config model (config/lora.py) lives here: its rules, what each serving stack's LoRA
support allows (as data, keyed by stack name), the resolved plan and the vLLM arguments.

Where the adapter weights come from:
- KServe v0.16+: the storage initializer downloads each adapter (`predictor.storageUris`, one
  mount under `/mnt/lora/`) before vLLM starts; vLLM reads local paths. A registry base joins them
  (`{uri, mountPath: /mnt/models}` instead of `model.storageUri`: KServe refuses both). Not with the
  local model cache, whose LocalModelCache matches the predictor's `model.storageUri`.
- otherwise vLLM downloads them itself at start (`vllm/lora/utils.py::get_adapter_absolute_path`
  calls `snapshot_download` with no revision): the pod needs hub egress, gated adapters need the
  token, and a revision cannot be pinned.

An adapter's weights come from the hub (`id`, `revision`) or from the MLflow registry (`source`,
the shapes of rules/registry.py; resolved there to the adapter directory in the registry's
store, s3://...). A registry adapter needs the storage initializer (KServe v0.16+ via storageUris):
vLLM itself reads only the hub or a local path.

Gated hub adapters through the storage initializer: KServe's credential builder
(pkg/credentials/service_account_credentials.go `mountSecretCredential`, the same v0.16.0-v0.20.0)
turns a Secret listed on the predictor's ServiceAccount that holds `HF_TOKEN` into an `HF_TOKEN`
env of the storage-initializer container (pkg/credentials/hf/hf_secret.go), and its hf:// download
(python/storage/kserve_storage/kserve_storage.py `_download_hf`, v0.20.0) calls `snapshot_download`,
which reads HF_TOKEN. So the model ServiceAccount lists the hf-token Secret then
(builders/identity.py).

Sources read (the wheels from PyPI, `pip download --no-deps vllm==<v>`):
- 0.33.0 `vllm/config/lora.py`: `MaxLoRARanks = Literal[1, 8, 16, 32, 64, 128, 256, 320, 512]`,
  `max_loras` ge=1, `max_cpu_loras >= max_loras`; `vllm/engine/arg_utils.py` L1604-1645: no
  `--enable-lora-bias` any more; `vllm/platforms/cpu.py` L396-397: LoRA sets
  `compilation_config.mode = NONE` (no torch.compile); `vllm/entrypoints/common/cli_args.py`
  `LoRAParserAction`: an item with "=" and no "," is `name=path`, anything else is JSON.
- 0.26.0 (the vllm-gaudi-0.26 stack's vLLM): the same file layout as 0.33.0 (.venv-vllm-0.26.0).
- 0.10.2 `vllm/config/lora.py` L104: ranks (8, 16, 32, 64, 128, 256, 320, 512);
  `vllm/platforms/cpu.py` L223-224: LoRA sets `CompilationLevel.NO_COMPILATION`;
  `vllm/entrypoints/openai/cli_args.py` `LoRAParserAction`: the same "=" / "," rule.
- HabanaAI/vllm-fork v0.9.0.1+Gaudi-1.22.0 (not on PyPI; /work/shared/reference/lora-and-registry.md):
  `vllm/worker/hpu_model_runner.py` asserts no LoRA bias and no fully sharded LoRA; the V1 HPU runner
  applies no adapters (VLLM_USE_V1 defaults to 0 there).

This module imports no Pulumi.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from ..catalog.kserve import KServeRelease, hf_storage_uri
from ..catalog.serving_stacks import ServingStack
from ..config.lora import ADAPTER_MOUNT_PARENT, AdapterConfig, LoraLimitsConfig
from ..errors import ConfigIssue
from .registry import ResolvedSource


EXISTING_KNATIVE_WARNING = (
    "LoRA adapters are downloaded by KServe's storage initializer (an init container): the cluster's own "
    "Knative (kserve.knative: existing) must enable kubernetes.podspec-init-containers in config-features, "
    "or the predictor revision is refused"
)


@dataclass(frozen=True)
class LoraSupport:
    ranks: tuple[int, ...]
    # --fully-sharded-loras and LoRA bias accepted by the server.
    fully_sharded: bool = True
    bias_flag: str | None = None  # the bias flag's name where it exists
    bias: bool = True
    # env var -> value that rules LoRA out, with why.
    forbidden_env: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # Said when LoRA is on: what it costs on this stack.
    warning: str | None = None
    # modules_to_save entries an adapter may have (vllm/lora/peft_helper.py `_validate_features`).
    modules_to_save: tuple[str, ...] = ()
    # Defaults: (max_loras cap, max_lora_rank).
    default_max_loras: int = 4
    default_rank: int = 16
    source: str = ""


_RANKS_NEW = (1, 8, 16, 32, 64, 128, 256, 320, 512)


_RANKS_OLD = (8, 16, 32, 64, 128, 256, 320, 512)


LORA_SUPPORT: Mapping[str, LoraSupport] = MappingProxyType({
    "vllm-0.33": LoraSupport(
        ranks=_RANKS_NEW,
        # 0.33.0 peft_helper.py: modules_to_save only ["classifier", "score"] (classification models).
        modules_to_save=("classifier", "score"),
        warning="vLLM 0.33 on CPU turns torch.compile off when LoRA is enabled (vllm/platforms/cpu.py: "
                "compilation mode NONE): the base model runs eagerly, slower than without adapters",
        source="vllm 0.33.0 vllm/config/lora.py, vllm/engine/arg_utils.py, vllm/platforms/cpu.py",
    ),
    "vllm-0.10": LoraSupport(
        ranks=_RANKS_OLD,
        bias_flag="--enable-lora-bias",
        warning="vLLM 0.10.2 on CPU turns torch.compile off when LoRA is enabled (vllm/platforms/cpu.py "
                "L223-224): the base model runs eagerly, slower than without adapters",
        source="vllm 0.10.2 vllm/config/lora.py L104, vllm/platforms/cpu.py L223-224",
    ),
    "vllm-gaudi-0.26": LoraSupport(
        ranks=_RANKS_NEW,
        # The HPU LoRA kernel stacks all adapters into one matmul of width max_loras x max_lora_rank.
        default_max_loras=2,
        warning="on Gaudi the LoRA kernel computes max_loras x max_lora_rank for every token, active adapters "
                "or not: keep lora.maxLoras and lora.maxLoraRank small",
        source="vllm 0.26.0 vllm/config/lora.py (MaxLoRARanks), vllm/engine/arg_utils.py",
    ),
    "vllm-fork-1.22": LoraSupport(
        ranks=_RANKS_OLD,
        fully_sharded=False,
        bias_flag="--enable-lora-bias",
        bias=False,
        forbidden_env=MappingProxyType({
            ("VLLM_USE_V1", "1"): "the fork's V1 HPU runner applies no adapters; LoRA needs the V0 engine "
                                  "(VLLM_USE_V1 unset or 0)",
        }),
        default_max_loras=2,
        warning="on Gaudi the LoRA kernel computes max_loras x max_lora_rank for every token, active adapters "
                "or not: keep lora.maxLoras and lora.maxLoraRank small",
        source="HabanaAI/vllm-fork v0.9.0.1+Gaudi-1.22.0 vllm/worker/hpu_model_runner.py, README_GAUDI.md",
    ),
})


def support(stack: ServingStack) -> LoraSupport | None:
    return LORA_SUPPORT.get(stack.name) if stack.backend == "vllm" else None


@dataclass(frozen=True)
class AdapterPlan:
    name: str
    # The Hugging Face repository; None for a registry adapter (see `source`).
    id: str | None
    revision: str | None
    base_model: str
    gated: bool
    # Where vLLM reads it: a mount path (storage initializer) or the hub repo id (vLLM downloads).
    path: str
    # The storageUris item; None when vLLM downloads it.
    storage: Mapping[str, str] | None
    # A registry adapter, resolved: the exact version and the store URI of its directory.
    source: ResolvedSource | None = None

    @property
    def module(self) -> str:
        """One `--lora-modules` item, always JSON: an item with "=" and no "," would be `name=path`."""
        return json.dumps({"name": self.name, "path": self.path, "base_model_name": self.base_model},
                          separators=(",", ":"))

    @property
    def hub(self) -> bool:
        return self.source is None

    def summary(self, base_url: str) -> dict[str, Any]:
        out: dict[str, Any] = {"servedModelName": self.name}
        if self.id is not None:
            out["id"] = self.id
        out.update({"baseModel": self.base_model, "openaiBaseUrl": base_url})
        if self.revision:
            out["revision"] = self.revision
        if self.source is not None:
            # `resolved` is what `registry.resolve: false` takes back (adapters[].source.resolved).
            out["source"] = self.source.summary()
        return out


@dataclass(frozen=True)
class LoraPlan:
    adapters: tuple[AdapterPlan, ...]
    max_loras: int
    max_lora_rank: int
    max_cpu_loras: int
    # True: KServe's storage initializer downloads the adapters (predictor.storageUris).
    via_storage_uris: bool

    @property
    def args(self) -> tuple[str, ...]:
        return (
            "--enable-lora",
            "--max-loras", str(self.max_loras),
            "--max-lora-rank", str(self.max_lora_rank),
            "--max-cpu-loras", str(self.max_cpu_loras),
            "--lora-modules", *(a.module for a in self.adapters),
        )

    @property
    def storage_uris(self) -> list[dict[str, str]]:
        return [dict(a.storage) for a in self.adapters if a.storage is not None]

    @property
    def hub_downloads(self) -> tuple[AdapterPlan, ...]:
        """Adapters fetched from the Hugging Face hub (by vLLM or the storage initializer)."""
        return tuple(a for a in self.adapters if a.hub)

    @property
    def gated_via_storage_uris(self) -> bool:
        """Some gated hub adapter is downloaded by KServe's storage initializer (it needs HF_TOKEN)."""
        return any(a.gated and a.hub and a.storage is not None for a in self.adapters)


def _mount_dir(index: int, name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:40] or "adapter"
    return f"{ADAPTER_MOUNT_PARENT}/{index}-{slug}"


def via_storage_uris(kserve_release: KServeRelease, base_has_storage_uri: bool) -> bool:
    """KServe v0.16+ downloads adapters itself, unless the predictor already has model.storageUri."""
    return why_not_storage_uris(kserve_release, base_has_storage_uri) is None


def why_not_storage_uris(kserve_release: KServeRelease, base_has_storage_uri: bool) -> str | None:
    """Why KServe's storage initializer cannot download the adapters here (None: it can)."""
    if kserve_release.minor < 16:
        return (f"KServe {kserve_release.tag} has no predictor.storageUris (from v0.16.0), so vLLM downloads "
                "adapters itself, and it reads only the Hugging Face hub or a local path")
    if base_has_storage_uri:
        return ("the predictor has model.storageUri for the local model cache (its LocalModelCache matches that "
                "URI), and KServe refuses storageUris beside it, so vLLM downloads adapters itself from the hub")
    return None


def resolve(path: str, adapters: list[AdapterConfig], limits: LoraLimitsConfig | None, served: str,
            stack: ServingStack, platform: str, storage_uris: bool, issues: list[ConfigIssue],
            warnings: list[str], env: Mapping[str, str], extra_args: Iterable[str],
            adapters_key: str = "adapters", sources: Callable[[str], ResolvedSource | None] | None = None,
            why_not: str | None = None, hub_mirror: str | None = None) -> LoraPlan | None:
    """The adapter plan of one model (or its canary); rules that need the stack and the base.

    `sources` looks up resolved registry sources by config path (registry.Resolution.of);
    `why_not` says why storage_uris is False (why_not_storage_uris). With `hub_mirror` (hfEndpoint, before
    KServe v0.20) hub adapters are downloaded by vLLM, which reads HF_ENDPOINT: KServe's storage initializer
    gets no HF_ENDPOINT from its credential builder (only HF_TOKEN, pkg/credentials/hf/hf_secret.go
    v0.16-v0.20), and before v0.20 no InferenceService can name the ClusterStorageContainer that would carry
    it (predictor.storageContainerName). From v0.20 the caller passes no `hub_mirror`: builders/downloads.py
    gives the storage initializer the mirror through that container."""
    hub_storage = storage_uris and hub_mirror is None
    if not adapters:
        if limits is not None:
            issues.append(ConfigIssue(f"{path}.lora", "has no effect without adapters; remove it or add "
                                      f"{path}.{adapters_key}", limits.model_dump(by_alias=True, exclude_none=True)))
        return None
    lora = support(stack)
    if lora is None:
        issues.append(ConfigIssue(f"{path}.{adapters_key}", f"LoRA adapters need the vLLM backend; serving stack "
                                  f"{stack.name} runs {stack.backend}", [a.name for a in adapters]))
        return None
    limits = limits or LoraLimitsConfig()
    rank = limits.max_lora_rank or lora.default_rank
    if rank not in lora.ranks:
        issues.append(ConfigIssue(f"{path}.lora.maxLoraRank", f"is not a rank vLLM {stack.version} accepts; allowed: "
                                  + ", ".join(map(str, lora.ranks)), rank))
    max_loras = limits.max_loras or min(len(adapters), lora.default_max_loras)
    max_cpu = limits.max_cpu_loras or max(len(adapters), max_loras)
    if max_cpu < max_loras:
        issues.append(ConfigIssue(f"{path}.lora.maxCpuLoras", f"must be at least lora.maxLoras ({max_loras}); "
                                  "vLLM refuses a smaller value", max_cpu))
    flags = {a.split("=", 1)[0].replace("_", "-") for a in extra_args}
    seen: dict[str, int] = {}
    planned = []
    for i, adapter in enumerate(adapters):
        where = f"{path}.{adapters_key}[{i}]"
        if adapter.name in seen:
            issues.append(ConfigIssue(f"{where}.name", f"is also the name of {path}.{adapters_key}[{seen[adapter.name]}]; "
                                      "served names must be unique", adapter.name))
        seen.setdefault(adapter.name, i)
        if adapter.name == served:
            issues.append(ConfigIssue(f"{where}.name", f"is the base model's served name ({served}); "
                                      "give the adapter its own name", adapter.name))
        if adapter.rank is not None and adapter.rank > rank:
            issues.append(ConfigIssue(f"{where}.rank", f"exceeds lora.maxLoraRank ({rank}): vLLM refuses the "
                                      f"adapter at start; raise lora.maxLoraRank to one of "
                                      + ", ".join(str(r) for r in lora.ranks if r >= adapter.rank), adapter.rank))
        base = adapter.base_model or served
        if base != served:
            issues.append(ConfigIssue(f"{where}.baseModel", f"must be the model's served name ({served}): vLLM "
                                      "ignores any other base_model_name silently", adapter.base_model))
        if not hub_storage and adapter.revision is not None:
            mirror = (f" (hfEndpoint {hub_mirror} is a mirror, and before KServe v0.20 only vLLM's download can "
                      "be given it: no predictor.storageContainerName)" if storage_uris
                      else f" ({why_not})" if why_not else "")
            issues.append(ConfigIssue(f"{where}.revision", f"cannot be pinned: vLLM downloads adapters itself here"
                                      f"{mirror} (without a revision); allowed: KServe v0.16+ without localCache "
                                      "(v0.20+ with an hfEndpoint mirror; not on a Standard-mode canary), where "
                                      "the storage initializer downloads hf://<id>:<revision>, or no revision",
                                      adapter.revision))
        if adapter.source is not None:
            resolved = sources(f"{where}.source") if sources is not None else None
            if not storage_uris:
                issues.append(ConfigIssue(f"{where}.source", "needs KServe's storage initializer to download the "
                                          "adapter from the registry's store, but " + (why_not or "it cannot here")
                                          + "; allowed: KServe v0.16+ without localCache on the base, or an "
                                          "adapter from the hub (id)",
                                          adapter.source.model_dump(by_alias=True, exclude_none=True,
                                                                    exclude={"resolved"})))
                continue
            if resolved is None:
                continue  # the registry refused it: resolve_sources said why
            issues.extend(_registry_adapter_issues(f"{where}.source", adapter, resolved, rank, lora, flags,
                                                   stack.name, warnings))
            mount = _mount_dir(i, adapter.name)
            planned.append(AdapterPlan(adapter.name, None, None, base, False, mount,
                                       MappingProxyType({"uri": resolved.storage_uri, "mountPath": mount}),
                                       resolved))
        elif hub_storage:
            mount = _mount_dir(i, adapter.name)
            uri = hf_storage_uri(adapter.id, adapter.revision)
            planned.append(AdapterPlan(adapter.name, adapter.id, adapter.revision, base, adapter.gated, mount,
                                       MappingProxyType({"uri": uri, "mountPath": mount})))
        else:
            assert adapter.id is not None
            planned.append(AdapterPlan(adapter.name, adapter.id, adapter.revision, base, adapter.gated,
                                       adapter.id, None))
    if not lora.fully_sharded and "--fully-sharded-loras" in flags:
        issues.append(ConfigIssue(f"{path}.extraArgs", f"--fully-sharded-loras is not supported by LoRA on "
                                  f"serving stack {stack.name} ({lora.source})", "--fully-sharded-loras"))
    if lora.bias_flag and not lora.bias and lora.bias_flag in flags:
        issues.append(ConfigIssue(f"{path}.extraArgs", f"{lora.bias_flag} is not supported by LoRA on serving "
                                  f"stack {stack.name} ({lora.source})", lora.bias_flag))
    for (name, value), reason in lora.forbidden_env.items():
        if env.get(name) == value:
            issues.append(ConfigIssue(f"{path}.env", f"{name}={value} rules out LoRA on serving stack {stack.name}: "
                                      f"{reason}", name))
    if lora.warning:
        warnings.append(f"{path}: {lora.warning}.")
    return LoraPlan(tuple(planned), max_loras, rank, max_cpu, any(a.storage is not None for a in planned))


def _registry_adapter_issues(key: str, adapter: AdapterConfig, resolved: ResolvedSource, rank: int,
                             lora: LoraSupport, flags: set[str], stack: str, warnings: list[str]) -> list[ConfigIssue]:
    """What the registry adapter's adapter_config.json rules out on this server (vLLM refuses it at start,
    vllm/lora/peft_helper.py `validate_legal`: the server stops)."""
    facts = resolved.adapter
    if facts is None:
        return []
    what = f"version {resolved.version} of {resolved.registered_model!r}"
    value = adapter.source.model_dump(by_alias=True, exclude_none=True, exclude={"resolved"}) if adapter.source else None
    issues = []
    if facts.rank is not None and facts.rank > rank:
        issues.append(ConfigIssue(key, f"{what} has LoRA rank {facts.rank} (adapter_config.json r / rank_pattern), "
                                  f"above lora.maxLoraRank ({rank}): vLLM refuses the adapter at start; raise "
                                  "lora.maxLoraRank to one of " + ", ".join(str(r) for r in lora.ranks if r >= facts.rank),
                                  value))
    if facts.rank is not None and adapter.rank is not None and adapter.rank != facts.rank:
        warnings.append(f"{key}: rank is {adapter.rank} in the config but {facts.rank} in {what}'s "
                        "adapter_config.json; the registry's value is checked.")
    if facts.use_dora:
        issues.append(ConfigIssue(key, f"{what} is a DoRA adapter (use_dora), which vLLM does not load", value))
    extra = [m for m in facts.modules_to_save if m not in lora.modules_to_save]
    if extra:
        allowed = ", ".join(lora.modules_to_save) or "none"
        issues.append(ConfigIssue(key, f"{what} has modules_to_save {extra}, which vLLM on serving stack {stack} "
                                  f"refuses (allowed: {allowed})", value))
    if facts.bias != "none":
        if lora.bias_flag and lora.bias:
            if lora.bias_flag not in flags:
                issues.append(ConfigIssue(key, f"{what} has bias {facts.bias!r}: vLLM on serving stack {stack} loads "
                                          f"it only with {lora.bias_flag} in extraArgs", value))
        else:
            issues.append(ConfigIssue(key, f"{what} has bias {facts.bias!r}, which vLLM on serving stack {stack} "
                                      "refuses (bias: none only)", value))
    return issues


def namespace_collisions(models: Iterable[Any]) -> list[ConfigIssue]:
    """An adapter's served name must be unique among the models and adapters of the namespace:
    the GenAI gateway lists them all and routes by name."""
    issues = []
    seen: dict[str, str] = {}
    for model in models:
        owners = [(f"{model.config_path}.servedModelName", model.served_model_name)]
        if model.lora is not None:
            owners += [(f"{model.config_path}.adapters[{i}].name", a.name) for i, a in enumerate(model.lora.adapters)]
        canary = getattr(model.canary, "lora", None) if model.canary is not None else None
        if canary is not None and canary is not model.lora:
            # A canary's adapters may reuse its own model's names (a new version), not another model's.
            owners += [(f"{model.config_path}.canary.adapters[{i}].name", a.name) for i, a in enumerate(canary.adapters)]
        for key, name in owners:
            first = seen.get(name)
            # Two bases with one served name predate adapters (and are not ours to refuse here).
            involves_adapter = ".adapters[" in key or (first is not None and ".adapters[" in first)
            if first is not None and involves_adapter and not first.startswith(model.config_path + "."):
                issues.append(ConfigIssue(key, f"collides with {first}; served names must be unique across the "
                                          "models and adapters of the namespace", name))
            seen.setdefault(name, key)
    return issues


def lora_rules(config: Any) -> Iterable[ConfigIssue]:
    """Config-time rules that need more than one key (no stack resolution)."""
    network = getattr(config, "network_policy", None)
    for i, model in enumerate(config.models):
        adapters = list(model.adapters) + list((model.canary.adapters or []) if model.canary else [])
        if not [a for a in adapters if a.id is not None]:
            continue  # registry adapters come from the registry's store, not the hub
        if network is not None and network.enabled and network.egress.hub == "none":
            yield ConfigIssue("networkPolicy.egress.hub", f"is none but models[{i}] has LoRA adapters downloaded "
                              "from the Hugging Face hub (by vLLM or KServe's storage initializer in the pod); "
                              "allowed: direct or proxy", "none")
