"""Read the stack's config from the Pulumi engine and plan it, or stop cleanly."""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import StackPlan, build_plan
from kserve_intel.rules.capacity import capacity_lines

from .hub_access import read_model_shapes


def read_stack_plan() -> StackPlan:
    """Validate every `kserve-intel:*` key before any resource is registered.

    The whole config map is read (not key by key) so that unknown keys, such as
    a typo in a key name, are reported instead of silently ignored.
    """
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    secret_keys.update(key for key in raw if runtime_config.is_config_secret(key))
    try:
        config = load_config(raw, secret_keys)
        # Models the catalogue lacks: their shape from the hub, before the plan judges capacity and shape.
        plan = build_plan(config, stack=pulumi.get_stack(), shapes=read_model_shapes(config))
    except ConfigError as error:
        # RunError ends the program with just this message, no traceback.
        raise pulumi.RunError(str(error)) from None
    for warning in plan.warnings:
        pulumi.log.warn(warning)
    for line in capacity_lines(plan.models):  # one line per model in the preview (docs/capacity.md)
        pulumi.log.info(line)
    return plan
