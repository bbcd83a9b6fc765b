"""Validate the Hugging Face token during `pulumi up`, before models are deployed."""

from __future__ import annotations

import pulumi

from kserve_intel.online.hub import HubUnreachable, check_token
from kserve_intel.plan import StackPlan


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
