"""`autoscaling` and `models[].autoscaling`: which engine scales a model, on what (rules/autoscaling.py)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from .values import HttpUrl, Strict


class ModelScalingConfig(Strict):
    """Per-model override of the stack's autoscaling bounds and target."""

    min_replicas: int | None = Field(default=None, ge=0, le=1000)
    """This model's minimum replicas; `0` scales it to zero (not with `hpa`)."""
    max_replicas: int | None = Field(default=None, ge=1, le=1000)
    """This model's maximum replicas (at least `minReplicas`)."""
    target: int | None = Field(default=None, ge=1, le=100_000)
    """This model's target of the stack's `autoscaling.metric`."""


DEFAULT_PROMETHEUS_ADDRESS = "http://prometheus-operated.monitoring.svc:9090"


class KedaConfig(Strict):
    """KEDA: where it comes from and where it reads vLLM's metrics."""

    install: bool | Literal["auto"] = "auto"
    """Engine `keda`: install KEDA (chart `kedacore/keda` in namespace `keda`), `false` uses the cluster's KEDA, `auto`
    uses the cluster's when it has one (CRD `scaledobjects.keda.sh` and the `keda-operator` Deployment), else installs
    it.
    """
    version: str | None = None
    """KEDA chart version, as KServe's scripts pair it. Only with `install: true`. Default: 2.14.0 (KServe <= 0.15),
    2.18.0.
    """
    prometheus_address: HttpUrl = DEFAULT_PROMETHEUS_ADDRESS
    """Prometheus that scrapes vLLM (the Prometheus Operator's service in `monitoring`)."""
    wake_query: str | None = Field(default=None, min_length=1, max_length=2000)
    """PromQL that is above 0 while requests arrive for a model at zero replicas (for example the gateway's request
    rate for its route). Required for `minReplicas: 0` with KEDA.
    """

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
    """`false`: one replica and no autoscaler. `true`: scale with `autoscaling.engine` (the keys below must not be set
    while disabled).
    """
    engine: AutoscalingEngine | None = None
    """`hpa`: KServe's HPA on CPU/memory. `keda`: KEDA on vLLM's Prometheus metrics (RawDeployment). `knative`:
    Knative's autoscaler (Serverless only). Default: `hpa` (RawDeployment), `knative` (Serverless).
    """
    min_replicas: int = Field(default=1, ge=0, le=1000)
    """`0` scales to zero: with `knative`, or with `keda` plus `autoscaling.keda.wakeQuery`; never with `hpa`."""
    max_replicas: int = Field(default=4, ge=1, le=1000)
    """At least `minReplicas`."""
    metric: AutoscalingMetric | None = None
    """`hpa`: `cpu`, `memory`. `keda`: `waiting` (requests queued in vLLM per replica), `ttft` (p90 time to first
    token). `knative`: `concurrency`, `rps`. Default: per engine: `cpu`, `waiting`, `concurrency`.
    """
    target: int | None = Field(default=None, ge=1, le=100_000)
    """Percent of the request (cpu, memory, 1-100), waiting requests per replica, milliseconds (ttft), concurrent
    requests or requests/s per replica. Default: per metric: cpu/memory 80, waiting 5, ttft 2000, concurrency 16,
    rps 10.
    """
    keda: KedaConfig | None = None
    """KEDA, with `autoscaling.engine: keda`: install it or use the cluster's, and the Prometheus it queries."""
