"""The online step before any resource: the shapes of models the catalogue lacks (`preview` and `up`) and the
Hugging Face token (`up`)."""

from __future__ import annotations

import os

import pulumi

from kserve_intel.catalog.model_shapes import ModelShape
from kserve_intel.config.stack import StackConfig
from kserve_intel.online.hub import HubUnreachable, check_token
from kserve_intel.plan import StackPlan
from kserve_intel.rules.hub import read_shapes

# Set by the offline render (offline/engine.py): the program runs under mocks and must not reach the network.
OFFLINE_ENV = "KSERVE_INTEL_OFFLINE"


def read_model_shapes(config: StackConfig) -> dict[str, ModelShape]:
    """config.json of every model the catalogue lacks, from `hfEndpoint` with `hfToken` (preview and up alike).

    Skipped, with one warning, in the offline render and with `validateToken: false` (air-gapped clusters).
    """
    offline = "offline render" if os.environ.get(OFFLINE_ENV) else None
    shapes, warnings = read_shapes(config, offline)
    for warning in warnings:
        pulumi.log.warn(warning)
    return shapes


def verify_hub_access(plan: StackPlan) -> None:
    """Stop `pulumi up` with one clear message if the token cannot read a gated model.

    Skipped during `pulumi preview` (no network from a preview, and secrets may
    be unavailable there), without a token, and with `validateToken: false`.
    """
    config = plan.config
    if pulumi.runtime.is_dry_run() or config.hf_token is None or not config.validate_token:
        return
    gated = [m.id for m in plan.models if m.gated]
    # LoRA adapters vLLM downloads from the hub (rules/lora.py).
    adapters = [a.id for m in plan.models if m.lora is not None for a in m.lora.adapters if a.gated]
    if m_canary := [a.id for m in plan.models if m.canary is not None and m.canary.lora is not None
                    for a in m.canary.lora.adapters if a.gated]:
        adapters += [a for a in m_canary if a not in adapters]
    try:
        problems = check_token(config.hf_token.get_secret_value(), gated, endpoint=config.hf_endpoint,
                               gated_adapters=adapters)
    except HubUnreachable as error:
        raise pulumi.RunError(f"cannot validate kserve-intel:hfToken: {error}") from None
    if problems:
        lines = "\n".join(f"  {problem}" for problem in problems)
        raise pulumi.RunError(f"kserve-intel:hfToken cannot serve this stack ({len(problems)} problem(s)):\n{lines}")
