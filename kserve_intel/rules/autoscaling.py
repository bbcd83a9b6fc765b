"""Autoscaling: which engine scales a model, on which metric, between which bounds.

Three engines, one per way KServe can scale a predictor:

* ``knative`` (Serverless mode): Knative's KPA on concurrency or requests per
  second; it can scale to zero because Knative's activator holds requests.
* ``hpa`` (RawDeployment): a HorizontalPodAutoscaler on CPU or memory.
* ``keda`` (RawDeployment): KEDA on the model server's Prometheus metrics
  (requests waiting per replica, or time to first token). From KServe v0.15
  KServe creates the ScaledObject itself; before, we emit it. The metrics a
  backend can feed are in ``KEDA_BACKEND_METRICS`` (TGI: its queue; OVMS and
  custom runtimes: none), checked on the built plan by ``backend_metric_issues``.

The rules below run with the other config checks, before any resource exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from pydantic.alias_generators import to_camel

from ..catalog.kserve import KServeRelease
from ..config.autoscaling import AutoscalingConfig
from ..config.model import ModelConfig
from ..config.stack import StackConfig
from ..errors import ConfigIssue


ENGINE_METRICS: dict[str, tuple[str, ...]] = {
    "knative": ("concurrency", "rps"),
    "hpa": ("cpu", "memory"),
    "keda": ("waiting", "ttft"),
}


# What `target` means per metric, and its default.
DEFAULT_TARGETS: dict[str, int] = {
    "cpu": 80,          # % of the CPU request
    "memory": 80,       # % of the memory request
    "concurrency": 16,  # in-flight requests per replica (vLLM batches them)
    "rps": 10,          # requests per second per replica
    "waiting": 5,       # requests queued in vLLM per replica (vllm:num_requests_waiting)
    "ttft": 2000,       # p90 time to first token, milliseconds
}


# The KEDA metrics each serving backend exports a series for (builders/autoscaling.py has the queries):
# TGI v3.3.7 has tgi_queue_size but no time-to-first-token histogram; OVMS v2026.3 exports neither
# a queue length nor a token latency for an LLM (ovms_current_graphs counts requests in process,
# running ones included, which is concurrency, not waiting); a custom runtime's metrics are unknown.
KEDA_BACKEND_METRICS: dict[str, tuple[str, ...]] = {
    "vllm": ("waiting", "ttft"),
    "tgi": ("waiting",),
    "ovms": (),
    "custom": (),
}


_NO_METRIC = {
    ("tgi", "ttft"): "TGI exports no time-to-first-token metric",
    ("ovms", "waiting"): "OVMS exports no queue length for an LLM (only requests in process, ovms_current_graphs)",
    ("ovms", "ttft"): "OVMS exports no time-to-first-token metric",
}


@dataclass(frozen=True)
class Scaling:
    """Resolved scaling of one model. `engine` None: a fixed single replica."""

    engine: str | None
    min_replicas: int
    max_replicas: int
    metric: str | None = None
    target: int | None = None

    @property
    def scale_to_zero(self) -> bool:
        return self.min_replicas == 0


def default_engine(serverless: bool) -> str:
    return "knative" if serverless else "hpa"


def resolve(config: StackConfig, model: ModelConfig) -> Scaling:
    """The scaling one model gets; call only on a config that passed `scaling_checks`."""
    scaling = config.autoscaling
    if not scaling.enabled:
        return Scaling(engine=None, min_replicas=1, max_replicas=1)
    engine = scaling.engine or default_engine(config.kserve.serverless)
    metric = scaling.metric or ENGINE_METRICS[engine][0]
    own = model.autoscaling
    minimum = own.min_replicas if own and own.min_replicas is not None else scaling.min_replicas
    maximum = own.max_replicas if own and own.max_replicas is not None else scaling.max_replicas
    target = own.target if own and own.target is not None else scaling.target
    return Scaling(engine, minimum, maximum, metric, target if target is not None else DEFAULT_TARGETS[metric])


def scaling_checks(config: StackConfig) -> Iterable[ConfigIssue]:
    """Every rule about deployment mode, Knative, engines, metrics and bounds."""
    kserve = config.kserve
    if not kserve.serverless:
        for key in ("knative", "networking"):
            if kserve.explicitly_set(key):
                yield ConfigIssue(
                    f"kserve.{key}", "has no effect unless kserve.deploymentMode is Serverless (alias Knative); "
                    "remove it", getattr(kserve, key),
                )
    elif kserve.knative_source == "existing" and kserve.explicitly_set("networking"):
        yield ConfigIssue(
            "kserve.networking", "has no effect when kserve.knative is 'existing' (the installed Knative "
            "keeps its networking layer); remove it", kserve.networking,
        )
    scaling = config.autoscaling
    if not scaling.enabled:
        yield from _disabled(config)
        return
    yield from _engine_checks(config, scaling)


def _disabled(config: StackConfig) -> Iterable[ConfigIssue]:
    scaling = config.autoscaling
    for key in ("engine", "min_replicas", "max_replicas", "metric", "target", "keda"):
        if scaling.explicitly_set(key):
            value = getattr(scaling, key)
            yield ConfigIssue(
                f"autoscaling.{to_camel(key)}", "has no effect unless autoscaling.enabled is true",
                value.model_dump(by_alias=True) if hasattr(value, "model_dump") else value,
            )
    for index, model in enumerate(config.models):
        if model.autoscaling is not None:
            yield ConfigIssue(
                f"models[{index}].autoscaling", "has no effect unless autoscaling.enabled is true",
                model.autoscaling.model_dump(by_alias=True, exclude_none=True),
            )


def _engine_checks(config: StackConfig, scaling: AutoscalingConfig) -> Iterable[ConfigIssue]:
    serverless = config.kserve.serverless
    release = KServeRelease(config.kserve.version)
    engine = scaling.engine or default_engine(serverless)
    mode = release.serverless_mode if serverless else release.raw_mode
    if serverless and engine != "knative":
        yield ConfigIssue(
            "autoscaling.engine", "Serverless mode scales with Knative's autoscaler; allowed: knative "
            "(KEDA and the HPA engine need kserve.deploymentMode RawDeployment)", engine,
        )
        return
    if not serverless and engine == "knative":
        yield ConfigIssue(
            "autoscaling.engine", f"needs kserve.deploymentMode Serverless; {mode} allows: hpa, keda", engine,
        )
        return
    allowed = ENGINE_METRICS[engine]
    if scaling.metric is not None and scaling.metric not in allowed:
        hint = {"knative": "Knative scales on", "hpa": f"{mode} scales with an HPA on", "keda": "KEDA scales on vLLM's"}[engine]
        yield ConfigIssue(
            "autoscaling.metric", f"{hint}: {', '.join(allowed)} (autoscaling.engine {engine})", scaling.metric,
        )
    metric = scaling.metric if scaling.metric in allowed else allowed[0]
    if metric in ("cpu", "memory") and scaling.target is not None and scaling.target > 100:
        yield ConfigIssue("autoscaling.target", f"is a percentage of the {metric} request; allowed: 1-100", scaling.target)
    keda = scaling.keda
    if engine != "keda" and keda is not None:
        yield ConfigIssue(
            "autoscaling.keda", f"has no effect unless autoscaling.engine is keda (it is {engine}); remove it",
            keda.model_dump(by_alias=True, exclude_none=True),
        )
    if engine == "keda" and keda is not None and not keda.install and keda.explicitly_set("version"):
        yield ConfigIssue(
            "autoscaling.keda.version", "has no effect when autoscaling.keda.install is false; remove it", keda.version,
        )
    bounds = [("autoscaling", scaling.min_replicas, scaling.max_replicas)]
    for index, model in enumerate(config.models):
        own = model.autoscaling
        if own is None:
            continue
        if own.target is not None and metric in ("cpu", "memory") and own.target > 100:
            yield ConfigIssue(f"models[{index}].autoscaling.target", f"is a percentage of the {metric} request; "
                              "allowed: 1-100", own.target)
        minimum = own.min_replicas if own.min_replicas is not None else scaling.min_replicas
        maximum = own.max_replicas if own.max_replicas is not None else scaling.max_replicas
        bounds.append((f"models[{index}].autoscaling", minimum, maximum))
    for path, minimum, maximum in bounds:
        if minimum > maximum:
            yield ConfigIssue(f"{path}.minReplicas", f"must not exceed {path}.maxReplicas ({maximum})", minimum)
        if minimum == 0:
            yield from _scale_to_zero(path, engine, mode, keda)


def _scale_to_zero(path: str, engine: str, mode: str, keda) -> Iterable[ConfigIssue]:
    if engine == "hpa":
        yield ConfigIssue(
            f"{path}.minReplicas", f"scale to zero is not possible with the HPA in {mode}: use autoscaling.engine "
            "keda (with autoscaling.keda.wakeQuery) or kserve.deploymentMode Serverless; allowed: 1 or more", 0,
        )
    elif engine == "keda" and (keda is None or keda.wake_query is None):
        yield ConfigIssue(
            "autoscaling.keda.wakeQuery", f"is required when {path}.minReplicas is 0: vLLM's metrics disappear "
            "with its last pod, so only a metric from outside the model (for example the gateway's request "
            "count) can scale it up again. Set a PromQL query that is above 0 while requests arrive",
        )


def backend_metric_issues(models: Iterable[object]) -> Iterable[ConfigIssue]:
    """KEDA metrics a model's backend cannot feed: one issue per model, over the built ModelPlans."""
    for model in models:
        scaling = model.scaling  # type: ignore[attr-defined]
        if scaling.engine != "keda":
            continue
        backend = model.backend  # type: ignore[attr-defined]
        allowed = KEDA_BACKEND_METRICS.get(backend, ())
        if scaling.metric in allowed:
            continue
        reason = _NO_METRIC.get((backend, scaling.metric), f"a {backend} runtime's metrics are not known")
        hint = (f"allowed for backend {backend}: {', '.join(allowed)}" if allowed else
                f"backend {backend} cannot scale with KEDA; use autoscaling.engine hpa (cpu, memory)")
        yield ConfigIssue(
            "autoscaling.metric",
            f"{model.config_path} ({model.name}) runs backend {backend}: {reason}; {hint}",  # type: ignore[attr-defined]
            scaling.metric,
        )
