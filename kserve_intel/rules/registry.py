"""Weights from a model registry (MLflow): rules and resolution.

A model (later: an adapter) may name a registered model in MLflow and an alias
(`champion`) or a version instead of taking its weights from Hugging Face:

    registry: {trackingUri: https://mlflow.example.com, artifactsDestination: s3://mlflow/artifacts, s3: {...}}
    models:
      - id: meta-llama/Llama-3.1-8B-Instruct      # the base: Intel's tuned settings, the default name
        source: {registeredModel: support-bot, alias: champion}

At plan time, before any resource is registered, `resolve_sources` asks the
MLflow REST API (with `requests`, read-only calls only, so `pulumi preview`
resolves too): alias -> version -> download URI; a `runs:/` download URI is
resolved through the run's artifact location; `mlflow-artifacts:/<path>` (the
server's artifact proxy) becomes `<artifactsDestination>/<path>`, the URI of the
store behind the server, which KServe's storage initializer reads. The layout is
checked through MLflow's artifact listing: vLLM serves the `mlflow.transformers`
layout, weights in `model/` (with config.json), tokenizer in
`components/tokenizer/`.

`registry.resolve: false` (air-gapped previews) makes no call and uses
`models[].source.resolved` from the config instead.

Everything here is plain Python: no Pulumi. Messages never contain a credential.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from ..config.registry import FETCHABLE_TEXT, RegistryConfig, RegistrySource, fetchable
from ..errors import ConfigIssue
from ..online.mlflow import API, ARTIFACTS_API, MlflowApi, RegistryUnreachable, connect


# Where the storage initializer puts what storageUri names, and where vLLM finds the
# mlflow.transformers layout inside it.
MOUNTED_DIR = "/mnt/models"


WEIGHTS_DIR = "model"


TOKENIZER_DIR = "components/tokenizer"


# Annotations on the InferenceService: what the registry resolved (a moved alias is a diff).
ANNOTATION_PREFIX = "kserve-intel/registry-"


def adapter_sources(config: Any) -> list[tuple[str, RegistrySource]]:
    """The LoRA adapters' sources (rules/lora.py) with their key paths."""
    found = []
    for index, model in enumerate(config.models):
        groups = [(f"models[{index}].adapters", model.adapters)]
        if model.canary is not None and model.canary.adapters is not None:
            groups.append((f"models[{index}].canary.adapters", model.canary.adapters))
        for prefix, adapters in groups:
            found += [(f"{prefix}[{i}].source", a.source) for i, a in enumerate(adapters) if a.source is not None]
    return found


def _sources(config: Any) -> list[tuple[str, RegistrySource]]:
    """Every source in the config with its key path."""
    found = []
    for index, model in enumerate(config.models):
        if model.source is not None:
            found.append((f"models[{index}].source", model.source))
        if model.canary is not None and model.canary.source is not None:
            found.append((f"models[{index}].canary.source", model.canary.source))
    return found + adapter_sources(config)


def registry_checks(config: Any, secret_keys: set[str]) -> Iterable[ConfigIssue]:
    """Rules between registry keys and the models' sources (`secret_keys` without the prefix)."""
    registry: RegistryConfig = config.registry
    sources = _sources(config)
    if not sources:
        if registry.model_fields_set:
            yield ConfigIssue("registry", "has no effect: no model, canary or adapter sets source; remove it",
                              "[secret]" if "registry" in secret_keys else registry.model_dump(by_alias=True, exclude_unset=True))
        return
    for name in ("token", "password"):
        if getattr(registry, name) is not None and "registry" not in secret_keys:
            yield ConfigIssue(f"registry.{name}", "must be stored encrypted: run `pulumi config set --secret --path "
                              f"'kserve-intel:registry.{name}' <value>`")
    if registry.s3 is not None:
        for name in ("accessKeyId", "secretAccessKey"):
            if getattr(registry.s3, to_snake(name)) is not None and "registry" not in secret_keys:
                yield ConfigIssue(f"registry.s3.{name}", "must be stored encrypted: run `pulumi config set --secret "
                                  f"--path 'kserve-intel:registry.s3.{name}' <value>`")
        if (registry.s3.access_key_id is None) != (registry.s3.secret_access_key is None):
            missing = "accessKeyId" if registry.s3.access_key_id is None else "secretAccessKey"
            yield ConfigIssue(f"registry.s3.{missing}", "is required with the other S3 key (secret): KServe's "
                              "storage initializer needs both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if registry.token is not None and (registry.username is not None or registry.password is not None):
        yield ConfigIssue("registry.token", "choose one: token (Bearer) or username + password (basic auth)", "[secret]")
    elif (registry.username is None) != (registry.password is None):
        missing = "password" if registry.password is None else "username"
        yield ConfigIssue(f"registry.{missing}", "is required with registry."
                          f"{'username' if missing == 'password' else 'password'} (MLflow basic auth)")
    if registry.resolve and registry.tracking_uri is None:
        yield ConfigIssue("registry.trackingUri", f"is required: {sources[0][0]} names a registered model; set the "
                          "MLflow tracking server's URL, e.g. http://mlflow.mlflow.svc:5000")
    for index, model in enumerate(config.models):
        path = f"models[{index}]"
        source = model.source
        canary = model.canary.source if model.canary is not None else None
        if source is not None:
            if source.registered_model is None:
                yield ConfigIssue(f"{path}.source.registeredModel", "is required: the registered model in MLflow")
            if model.revision is not None:
                yield ConfigIssue(f"{path}.revision", "has no effect with source (the registry version decides the "
                                  "weights); remove it", model.revision)
            if model.local_cache is not None:
                yield ConfigIssue(f"{path}.localCache", "cannot be combined with source yet: the local model cache "
                                  "downloads hf:// URIs only; remove one", model.local_cache.model_dump(by_alias=True))
            if model.canary is not None and model.canary.revision is not None:
                yield ConfigIssue(f"{path}.canary.revision", "has no effect with source; give the canary another "
                                  "registry alias or version with canary.source", model.canary.revision)
        elif canary is not None:
            yield ConfigIssue(f"{path}.canary.source", f"needs {path}.source: a canary from the registry serves "
                              "another version of a registry model", canary.model_dump(by_alias=True, exclude_none=True))
        for key, item in ((f"{path}.source", source), (f"{path}.canary.source", canary)):
            if item is None:
                continue
            yield from _source_shape(registry, key, item)
    for key, item in adapter_sources(config):
        if item.registered_model is None:
            yield ConfigIssue(f"{key}.registeredModel", "is required: the registered model in MLflow that holds "
                              "the adapter")
        yield from _source_shape(registry, key, item)


def _source_shape(registry: RegistryConfig, key: str, item: RegistrySource) -> Iterable[ConfigIssue]:
    """The alias-or-version rule and the recorded resolution, for any source."""
    if (item.alias is None) == (item.version is None):
        yield ConfigIssue(key, "needs exactly one of alias (e.g. champion) or version (e.g. 3)",
                          item.model_dump(by_alias=True, exclude_none=True, exclude={"resolved"}))
    if not registry.resolve and item.resolved is None:
        yield ConfigIssue(f"{key}.resolved", "is required when registry.resolve is false (no registry call): "
                          "set {version, uri, runId} from the last resolved run, `pulumi stack output models "
                          "--json` (source.resolved)")


def to_snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def model_issues(path: str, model: Any, nodes: int) -> list[ConfigIssue]:
    """Rules that need resolved values (plan time)."""
    if model.source is not None and nodes > 1:
        return [ConfigIssue(f"{path}.source", "a multi-node model reads its weights from the shared claim the "
                            "prefetch Job fills from Hugging Face; a registry source needs a model that fits one node",
                            model.source.model_dump(by_alias=True, exclude_none=True))]
    return []


@dataclass(frozen=True)
class AdapterFacts:
    """What a registry adapter's adapter_config.json says, in the peft LoraConfig keys vLLM checks when it
    loads the adapter (vllm/lora/peft_helper.py PEFTHelper: rank against max_lora_rank, DoRA,
    modules_to_save, bias); the rules per serving stack are in rules/lora.py."""

    # The largest rank of any module: `r`, or a larger one in `rank_pattern`; None when not stated.
    rank: int | None
    use_dora: bool = False
    modules_to_save: tuple[str, ...] = ()
    bias: str = "none"

    @classmethod
    def read(cls, config: Mapping[str, Any]) -> "AdapterFacts":
        ranks = [config.get("r")] + list((config.get("rank_pattern") or {}).values())
        ranks = [r for r in ranks if isinstance(r, int) and not isinstance(r, bool)]
        return cls(rank=max(ranks) if ranks else None, use_dora=bool(config.get("use_dora")),
                   modules_to_save=tuple(str(m) for m in config.get("modules_to_save") or ()),
                   bias=str(config.get("bias") or "none"))


@dataclass(frozen=True)
class ResolvedSource:
    """One source, resolved: the exact version KServe will fetch and where from."""

    registered_model: str
    alias: str | None
    version: str
    run_id: str | None
    # What KServe's storage initializer fetches (s3://...): the predictor's storageUri.
    storage_uri: str
    # The registry's own URI for it (mlflow-artifacts:/..., runs:/...); None from config.
    registry_uri: str | None = None
    # False: taken from `source.resolved` (registry.resolve false).
    live: bool = True
    # A LoRA adapter's adapter_config.json, as read through the registry; None: a model, or not read.
    adapter: AdapterFacts | None = None

    def annotations(self, prefix: str = ANNOTATION_PREFIX) -> dict[str, str]:
        out = {f"{prefix}model": self.registered_model, f"{prefix}version": self.version}
        if self.alias:
            out[f"{prefix}alias"] = self.alias
        if self.run_id:
            out[f"{prefix}run-id"] = self.run_id
        return out

    def summary(self) -> dict[str, Any]:
        """The stack output entry; `resolved` is what `registry.resolve: false` takes back."""
        resolved: dict[str, Any] = {"version": self.version, "uri": self.storage_uri}
        if self.run_id:
            resolved["runId"] = self.run_id
        out: dict[str, Any] = {"registeredModel": self.registered_model, "resolved": resolved}
        if self.alias:
            out["alias"] = self.alias
        return out


def proxied_path(uri: str) -> str | None:
    """The path under the artifact proxy for `mlflow-artifacts:/p` or `mlflow-artifacts://host/p`."""
    if not uri.startswith("mlflow-artifacts:"):
        return None
    parts = urlsplit(uri)
    return parts.path.lstrip("/")


def storage_uri(uri: str, artifacts_destination: str | None) -> str:
    """Translate a registry download URI to the store's own URI (raises ValueError when it cannot)."""
    path = proxied_path(uri)
    if path is not None:
        if artifacts_destination is None:
            raise LookupError(path)
        return f"{artifacts_destination}/{path}" if path else artifacts_destination
    return uri.rstrip("/")


class _Refused(Exception):
    def __init__(self, issue: ConfigIssue):
        self.issue = issue


def _auth_issue(registry: RegistryConfig, status: int) -> ConfigIssue:
    if registry.token is None and registry.username is None:
        return ConfigIssue("registry.token", f"is required: the MLflow server at {registry.tracking_uri} answered "
                           f"{status} ({'unauthenticated' if status == 401 else 'forbidden'}); set registry.token "
                           "(Bearer) or registry.username and registry.password (basic auth), as secrets")
    key = "registry.token" if registry.token is not None else "registry.username"
    return ConfigIssue(key, f"was refused by the MLflow server at {registry.tracking_uri} (HTTP {status}): "
                       "check the credentials and that the user may read the registered model")


def _check(status: int, body: Mapping[str, Any], registry: RegistryConfig, call: str) -> None:
    if status in (401, 403):
        raise _Refused(_auth_issue(registry, status))
    if status != 200:
        code = body.get("error_code", "")
        raise _Refused(ConfigIssue("registry.trackingUri", f"MLflow answered HTTP {status} {code} to {call}; is "
                                   f"{registry.tracking_uri} an MLflow tracking server?", registry.tracking_uri))


def _listing(api: MlflowApi, registry: RegistryConfig, kind: str, where: str, path: str) -> list[dict[str, Any]] | None:
    """Entries directly under `path`, or None when the server cannot list there."""
    if kind == "proxy":
        status, body = api.get(ARTIFACTS_API, path=path)
    else:
        status, body = api.get(f"{API}/artifacts/list", run_id=where, path=path)
    if status in (401, 403):
        raise _Refused(_auth_issue(registry, status))
    if status != 200:
        return None
    return [f for f in body.get("files", []) if isinstance(f, dict)]


def _layout_problem(api: MlflowApi, registry: RegistryConfig, kind: str, where: str, base: str) -> str | None:
    """Why the artifact at `base` is not the mlflow.transformers layout vLLM serves; None if it is."""
    join = (lambda *p: "/".join(x for x in p if x))
    top = _listing(api, registry, kind, where, base)
    if top is None:
        return "cannot be listed through the registry (its artifact listing API refused)"
    names = sorted(f["path"].rstrip("/").rsplit("/", 1)[-1] + ("/" if f.get("is_dir") else "") for f in top)
    if f"{WEIGHTS_DIR}/" not in names:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "") if names else "nothing"
        return f"has no {WEIGHTS_DIR}/ directory (it holds {shown})"
    inside = _listing(api, registry, kind, where, join(base, WEIGHTS_DIR)) or []
    if not any(f["path"].rsplit("/", 1)[-1] == "config.json" and not f.get("is_dir") for f in inside):
        return f"has no {WEIGHTS_DIR}/config.json (save_pretrained=False logs only a hub reference, no weights)"
    if "components/" not in names:
        return f"has no {TOKENIZER_DIR}/ (vLLM's --tokenizer)"
    return None


# A LoRA adapter directory (what vLLM's --lora-modules path must hold; vllm/lora/utils.py, peft's layout):
# adapter_config.json beside adapter_model.safetensors (or .bin / .pt). mlflow.transformers.log_model of a
# PEFT model writes it to `peft/`; an adapter logged with log_artifacts has it at its root.
ADAPTER_CONFIG = "adapter_config.json"


ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin", "adapter_model.pt")


PEFT_DIR = "peft"


def _adapter_config(api: MlflowApi, kind: str, where: str, path: str) -> dict[str, Any] | None:
    """adapter_config.json's content through the artifact proxy or the run's artifact download (read-only)."""
    if kind == "proxy":
        status, body = api.get(f"{ARTIFACTS_API}/{path}")
    else:
        status, body = api.get("/get-artifact", path=path, run_uuid=where)
    return body if status == 200 and body else None


def _adapter_dir(api: MlflowApi, registry: RegistryConfig, kind: str, where: str, base: str) -> tuple[str | None, str | None]:
    """(sub-directory holding the adapter: "" or "peft", None) or (None, why it holds no adapter)."""
    join = (lambda *p: "/".join(x for x in p if x))
    top = _listing(api, registry, kind, where, base)
    if top is None:
        return None, "cannot be listed through the registry (its artifact listing API refused)"
    for sub, files in (("", top), (PEFT_DIR, None)):
        if files is None:
            if not any(f["path"].rstrip("/").rsplit("/", 1)[-1] == PEFT_DIR and f.get("is_dir") for f in top):
                continue
            files = _listing(api, registry, kind, where, join(base, PEFT_DIR)) or []
        names = {f["path"].rsplit("/", 1)[-1] for f in files if not f.get("is_dir")}
        if ADAPTER_CONFIG in names:
            if not names.intersection(ADAPTER_WEIGHTS):
                return None, (f"has {join(sub, ADAPTER_CONFIG)} but no adapter weights beside it "
                              f"({', '.join(ADAPTER_WEIGHTS)})")
            return sub, None
    shown = sorted(f["path"].rstrip("/").rsplit("/", 1)[-1] + ("/" if f.get("is_dir") else "") for f in top)
    return None, (f"holds no LoRA adapter: no {ADAPTER_CONFIG} at its root nor in {PEFT_DIR}/ (it holds "
                  + (", ".join(shown[:8]) + (", ..." if len(shown) > 8 else "") if shown else "nothing") + ")")


def _resolve_one(api: MlflowApi, registry: RegistryConfig, key: str, source: RegistrySource,
                 model_name: str, warnings: list[str], adapter: bool = False) -> ResolvedSource:
    name = source.registered_model or model_name
    status, body = api.get(f"{API}/registered-models/get", name=name)
    if status == 404:
        raise _Refused(ConfigIssue(f"{key}.registeredModel" if source.registered_model else key,
                                   f"no registered model of this name on {registry.tracking_uri} "
                                   f"(MLflow answered 404 {body.get('error_code', '')})".rstrip() , name))
    _check(status, body, registry, f"registered-models/get?name={name}")
    registered = body.get("registered_model", {})
    aliases = {a.get("alias"): a.get("version") for a in registered.get("aliases", []) if isinstance(a, dict)}
    if source.alias is not None:
        status, body = api.get(f"{API}/registered-models/alias", name=name, alias=source.alias)
        if status in (400, 404):
            known = ", ".join(f"{a} (version {v})" for a, v in sorted(aliases.items())) or "none"
            raise _Refused(ConfigIssue(f"{key}.alias", f"registered model {name!r} has no such alias (MLflow answered "
                                       f"{status} {body.get('error_code', '')}); its aliases: {known}", source.alias))
        _check(status, body, registry, "registered-models/alias")
        version = body.get("model_version", {})
    else:
        status, body = api.get(f"{API}/model-versions/get", name=name, version=source.version)
        if status in (400, 404):
            s, found = api.get(f"{API}/model-versions/search", filter=f"name='{name}'", max_results=1000)
            numbers = sorted(int(v["version"]) for v in found.get("model_versions", []) if str(v.get("version", "")).isdigit())
            known = ", ".join(map(str, numbers)) or "none"
            raise _Refused(ConfigIssue(f"{key}.version", f"registered model {name!r} has no such version (MLflow "
                                       f"answered {status} {body.get('error_code', '')}); its versions: {known}",
                                       source.version))
        _check(status, body, registry, "model-versions/get")
        version = body.get("model_version", {})
    number = str(version.get("version", ""))
    run_id = version.get("run_id") or None
    what = f"version {number} of {name!r}" + (f" (alias {source.alias!r})" if source.alias else "")
    status, body = api.get(f"{API}/model-versions/get-download-uri", name=name, version=number)
    _check(status, body, registry, "model-versions/get-download-uri")
    download = str(body.get("artifact_uri", ""))
    # Where to list it: through the artifact proxy, or through its run.
    listing: tuple[str, str, str] | None = None
    if download.startswith("runs:/"):
        run_part = download[len("runs:/"):]
        run_ref, _, sub = run_part.partition("/")
        status, body = api.get(f"{API}/runs/get", run_id=run_ref)
        if status in (400, 404):
            raise _Refused(ConfigIssue(key, f"{what} comes from {download}, but that run does not exist on "
                                       f"{registry.tracking_uri}", source.model_dump(by_alias=True, exclude_none=True)))
        _check(status, body, registry, "runs/get")
        root = str(body.get("run", {}).get("info", {}).get("artifact_uri", "")).rstrip("/")
        run_id = run_id or run_ref
        listing = ("run", run_ref, sub.strip("/"))
        download = f"{root}/{sub.strip('/')}" if sub.strip("/") else root
    proxied = proxied_path(download)
    if listing is None and proxied is not None:
        listing = ("proxy", "", proxied)
    try:
        uri = storage_uri(download, registry.artifacts_destination)
    except LookupError:
        raise _Refused(ConfigIssue("registry.artifactsDestination", f"is required: {what} is stored behind the "
                                   f"server's artifact proxy ({download}); set it to the server's "
                                   "--artifacts-destination, such as s3://mlflow/artifacts, so KServe reads the "
                                   "store directly")) from None
    if not fetchable(uri):
        raise _Refused(ConfigIssue(key, f"{what} is stored at {uri}, which KServe's storage initializer cannot "
                                   f"fetch (it reads {FETCHABLE_TEXT}); give the MLflow server such an artifact store",
                                   source.model_dump(by_alias=True, exclude_none=True, exclude={"resolved"})))
    if listing is None and run_id:
        # A store the server reaches directly: list through the run when the artifact lies under it.
        status, body = api.get(f"{API}/runs/get", run_id=run_id)
        root = str(body.get("run", {}).get("info", {}).get("artifact_uri", "")).rstrip("/") if status == 200 else ""
        if root and (download == root or download.startswith(root + "/")):
            listing = ("run", run_id, download[len(root):].strip("/"))
    facts: AdapterFacts | None = None
    if adapter:
        if listing is None:
            warnings.append(f"{key}: cannot check the layout of {what} through the registry ({download}); make sure "
                            f"it holds {ADAPTER_CONFIG} and the adapter weights at its root.")
        else:
            sub, problem = _adapter_dir(api, registry, *listing)
            if problem is not None:
                raise _Refused(ConfigIssue(key, f"{what} ({uri}) {problem}: vLLM loads a LoRA adapter from a "
                                           f"directory with {ADAPTER_CONFIG} and adapter_model.safetensors "
                                           f"(mlflow.transformers.log_model of a PEFT model writes them to "
                                           f"{PEFT_DIR}/)",
                                           source.model_dump(by_alias=True, exclude_none=True, exclude={"resolved"})))
            content = _adapter_config(api, listing[0], listing[1], "/".join(x for x in (listing[2], sub, ADAPTER_CONFIG) if x))
            if content is None:
                warnings.append(f"{key}: cannot read {ADAPTER_CONFIG} of {what} through the registry; its rank and "
                                "features are not checked against the server's LoRA limits.")
            else:
                facts = AdapterFacts.read(content)
            if sub:
                # The storage initializer downloads just the adapter directory (s3: every key under the prefix).
                uri, download = f"{uri}/{sub}", f"{download}/{sub}"
    elif listing is None:
        warnings.append(f"{key}: cannot check the layout of {what} through the registry ({download}); make sure it "
                        f"holds {WEIGHTS_DIR}/config.json and {TOKENIZER_DIR}/ (mlflow.transformers layout).")
    else:
        problem = _layout_problem(api, registry, *listing)
        if problem is not None:
            raise _Refused(ConfigIssue(key, f"{what} ({uri}) {problem}: vLLM serves the mlflow.transformers layout, "
                                       f"{WEIGHTS_DIR}/ with config.json and the weights, {TOKENIZER_DIR}/ with the "
                                       "tokenizer (mlflow.transformers.log_model with save_pretrained=True)",
                                       source.model_dump(by_alias=True, exclude_none=True, exclude={"resolved"})))
    if source.resolved is not None and (source.resolved.version != number or source.resolved.uri != uri):
        warnings.append(f"{key}.resolved says version {source.resolved.version}, but the registry now resolves "
                        f"{source.wanted} of {name!r} to version {number}: deploying version {number}. Update "
                        "source.resolved before an air-gapped preview.")
    return ResolvedSource(registered_model=name, alias=source.alias, version=number, run_id=run_id,
                          storage_uri=uri, registry_uri=download, adapter=facts)


def _s3_keys_issue(registry: RegistryConfig, resolved: Iterable[ResolvedSource]) -> list[ConfigIssue]:
    """KServe reads s3:// with keys from a Secret: they must be in the config (once for all sources)."""
    if registry.s3 is not None and registry.s3.has_keys:
        return []
    for item in resolved:
        if urlsplit(item.storage_uri).scheme == "s3":
            what = f"version {item.version} of {item.registered_model!r}" + (f" (alias {item.alias!r})" if item.alias else "")
            return [ConfigIssue("registry.s3.accessKeyId", f"is required: {what} is read from {item.storage_uri}, and "
                                "KServe's storage initializer takes S3 keys from a Secret on the predictor's "
                                "ServiceAccount; set registry.s3.accessKeyId and registry.s3.secretAccessKey (secrets) "
                                "and registry.s3.endpoint for a non-AWS store")]
    return []


def _from_config(source: RegistrySource, model_name: str) -> ResolvedSource:
    resolved = source.resolved
    assert resolved is not None  # registry_checks requires it
    return ResolvedSource(registered_model=source.registered_model or model_name, alias=source.alias,
                          version=resolved.version, run_id=resolved.run_id, storage_uri=resolved.uri, live=False)


@dataclass(frozen=True)
class Resolution:
    """Every source of a stack, resolved; keyed by config path (`models[0].source`)."""

    sources: Mapping[str, ResolvedSource]
    issues: tuple[ConfigIssue, ...] = ()
    warnings: tuple[str, ...] = ()

    def of(self, key: str) -> ResolvedSource | None:
        return self.sources.get(key)


def resolve_sources(config: Any, api_factory: Callable[[RegistryConfig], MlflowApi] = connect) -> Resolution:
    """Resolve every source once (read-only calls; none with registry.resolve false)."""
    registry: RegistryConfig = config.registry
    wanted = []
    for index, model in enumerate(config.models):
        if model.source is None:
            continue
        base = model.source.registered_model or ""
        wanted.append((f"models[{index}].source", model.source, base))
        if model.canary is not None and model.canary.source is not None:
            wanted.append((f"models[{index}].canary.source", model.canary.source, base))
    adapters = {key for key, _ in adapter_sources(config)}
    wanted += [(key, source, "") for key, source in adapter_sources(config)]
    if not wanted:
        return Resolution({})
    if not registry.resolve:
        recorded = {key: _from_config(source, base) for key, source, base in wanted}
        return Resolution(recorded, tuple(_s3_keys_issue(registry, recorded.values())), warnings=("registry.resolve is false: deploying the versions in models[].source.resolved "
                                    "without asking the registry; a moved alias is not seen.",))
    api = api_factory(registry)
    resolved: dict[str, ResolvedSource] = {}
    issues: list[ConfigIssue] = []
    warnings: list[str] = []
    try:
        for key, source, base in wanted:
            try:
                resolved[key] = _resolve_one(api, registry, key, source, base, warnings, adapter=key in adapters)
            except _Refused as refusal:
                issues.append(refusal.issue)
    except RegistryUnreachable as error:
        issues.append(ConfigIssue("registry.trackingUri", f"cannot reach the MLflow tracking server: {error}. Check "
                                  "the URL and the network (HTTPS_PROXY / NO_PROXY); for an air-gapped preview set "
                                  "registry.resolve false", registry.tracking_uri))
    finally:
        api.session.close()
    issues.extend(_s3_keys_issue(registry, resolved.values()))
    return Resolution(resolved, tuple(issues), tuple(warnings))


def mounted_args(args: list[str]) -> list[str]:
    """vLLM args with `--model` at the mounted weights and `--tokenizer` beside them (no hub revision)."""
    out = list(args)
    # `vllm serve <model>` takes the model first, the older entry point as `--model <model>`.
    at = out.index("--model") + 1 if "--model" in out else 0
    out[at] = f"{MOUNTED_DIR}/{WEIGHTS_DIR}"
    out[at + 1:at + 1] = ["--tokenizer", f"{MOUNTED_DIR}/{TOKENIZER_DIR}"]
    return out
