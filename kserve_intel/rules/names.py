"""Names derived for the cluster must not collide: a collision is a config error, never a silent overwrite.

The names themselves are derived in naming.py; what each model plan holds (its name, config path, id, canary,
runtime) is read duck-typed, so this floor does not import plan.py. Every object of a kind shares one namespace
of names, whichever model or canary derives it:

- the predictor Deployment and Service KServe creates: `<name>-predictor`, a canary's `<name>-<canary>-predictor`
  (KServe v0.20 spec.canary);
- routes (Ingress, HTTPRoute, ApisixRoute): ours `<name>-route`, `<name>-route-canary`, and KServe's own, named
  after the InferenceService;
- the model cache claim `<name>-cache`;
- the ClusterServingRuntimes of the serving stacks in use (a custom runtime may encode to a built-in stack's);
- the served model name clients send as `model` (the GenAI gateway routes by it).
"""

from __future__ import annotations

from typing import Any, Iterable

from .. import naming
from ..errors import ConfigIssue


def model_name_collisions(models: Iterable[Any]) -> list[ConfigIssue]:
    issues = []
    seen: dict[str, Any] = {}
    for model in models:
        first = seen.setdefault(model.name, model)
        if first is not model:
            issues.append(ConfigIssue(
                f"{model.config_path}.name", f"collides with {first.config_path} ({first.id}); "
                "give one of them a distinct `name`", model.name,
            ))
    return issues


def _derived(model: Any, spec_canary: bool) -> list[tuple[str, str, str]]:
    """(kind, name, what derives it) of every object a model and its canary name."""
    path = model.config_path
    found = [("predictor Deployment/Service", naming.predictor_service(model.name), f"{path} ({model.id})"),
             ("route", naming.route_name(model.name), f"{path} ({model.id})"),
             ("route", model.name, f"{path} ({model.id}), KServe's own route of the InferenceService"),
             ("model cache claim", naming.cache_claim_name(model.name), f"{path} ({model.id})")]
    canary = getattr(model, "canary", None)
    if canary is not None:
        if spec_canary:  # Serverless canaries are revisions of the model's own Knative service
            found.append(("predictor Deployment/Service", naming.canary_predictor_service(model.name, canary.name),
                          f"{path}.canary (name {canary.name})"))
        found.append(("route", naming.canary_route_name(model.name), f"{path}.canary"))
    return found


def derived_name_collisions(models: Iterable[Any], spec_canary: bool) -> list[ConfigIssue]:
    """Every derived name unique per kind across models and canaries; one issue per collision, naming both.

    `spec_canary`: canaries are predictors of their own (KServe v0.20 Standard mode `spec.canary`)."""
    models = list(models)
    issues: list[ConfigIssue] = []
    seen: dict[tuple[str, str], tuple[Any, str]] = {}
    reported: set[tuple[str, str]] = set()
    for model in models:
        if sum(m.name == model.name for m in models) > 1:
            continue  # the same name twice: model_name_collisions says it once
        for kind, name, owner in _derived(model, spec_canary):
            first = seen.setdefault((kind, name), (model, owner))
            if first[0] is model or (kind, name) in reported:
                continue
            reported.add((kind, name))
            key = f"{model.config_path}.canary.name" if owner.startswith(f"{model.config_path}.canary") \
                else f"{model.config_path}.name"
            issues.append(ConfigIssue(key, f"derives the {kind} name {name!r}, which {first[1]} also derives: one "
                                      "object would overwrite the other; give one of them a distinct `name` (or "
                                      "canary `name`)", name))
    return issues


def served_name_collisions(models: Iterable[Any]) -> list[ConfigIssue]:
    """Two models serving under one name: clients (and the GenAI gateway) could not tell them apart."""
    issues = []
    seen: dict[str, Any] = {}
    for model in models:
        first = seen.setdefault(model.served_model_name, model)
        if first is not model:
            issues.append(ConfigIssue(
                f"{model.config_path}.servedModelName", f"is also the served name of {first.config_path} "
                f"({first.id}); clients pick a model by this name and the GenAI gateway would balance requests "
                "between two different models; give one of them a distinct `servedModelName`",
                model.served_model_name))
    return issues


def runtime_name_collisions(runtimes: Iterable[Any]) -> list[ConfigIssue]:
    """Two serving stacks in use whose ClusterServingRuntimes would get one name (a custom runtime's encoded name
    can equal a built-in stack's: `vllm-0-10` and `vllm-0.10` both give `intel-<platform>-vllm-0-10`)."""
    issues = []
    seen: dict[str, Any] = {}
    for runtime in runtimes:
        for name in (runtime.name, runtime.multinode_name):
            first = seen.setdefault(name, runtime)
            if first is not runtime:
                custom = runtime if runtime.stack.custom_index is not None else first
                other = first if custom is runtime else runtime
                key = (f"runtimes.custom[{custom.stack.custom_index}].name" if custom.stack.custom_index is not None
                       else "servingStack")
                issues.append(ConfigIssue(key, f"gives the ClusterServingRuntime name {name!r}, which serving stack "
                                          f"{other.stack.name} also gives; choose another name", custom.stack.name))
                break
    return issues
