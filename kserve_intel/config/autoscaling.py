"""`autoscaling` and `models[].autoscaling`: which engine scales a model, on what (rules/autoscaling.py)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from .values import HttpUrl, Strict


class ModelScalingConfig(Strict):
    """Per-model override of the stack's autoscaling bounds and target."""

    min_replicas: int | None = Field(default=None, ge=0, le=1000)
    max_replicas: int | None = Field(default=None, ge=1, le=1000)
    target: int | None = Field(default=None, ge=1, le=100_000)


DEFAULT_PROMETHEUS_ADDRESS = "http://prometheus-operated.monitoring.svc:9090"


class KedaConfig(Strict):
    """KEDA: where it comes from and where it reads vLLM's metrics."""

    install: bool = True
    version: str | None = None
    prometheus_address: HttpUrl = DEFAULT_PROMETHEUS_ADDRESS
    # PromQL whose value is above 0 while requests arrive for a model scaled to zero
    # (vLLM's own metrics vanish with its last pod, so they cannot wake it).
    wake_query: str | None = Field(default=None, min_length=1, max_length=2000)

    @field_validator("version")
    @classmethod
    def _chart_version(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^\d+\.\d+\.\d+$", value):
            raise ValueError("must be a KEDA chart version such as 2.18.0")
        return value


AutoscalingEngine = Literal["hpa", "keda", "knative"]


AutoscalingMetric = Literal["concurrency", "rps", "cpu", "memory", "waiting", "ttft"]


class AutoscalingConfig(Strict):
    enabled: bool = False
    # None resolves per deployment mode: knative (Serverless), hpa (RawDeployment).
    engine: AutoscalingEngine | None = None
    min_replicas: int = Field(default=1, ge=0, le=1000)
    max_replicas: int = Field(default=4, ge=1, le=1000)
    # None resolves per engine: concurrency (knative), cpu (hpa), waiting (keda).
    metric: AutoscalingMetric | None = None
    # None resolves per metric (see rules/autoscaling.py DEFAULT_TARGETS).
    target: int | None = Field(default=None, ge=1, le=100_000)
    keda: KedaConfig | None = None
