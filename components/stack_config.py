"""Read the stack's config from the Pulumi engine and plan it, or stop cleanly."""

from __future__ import annotations

import pulumi
from pulumi.runtime import config as runtime_config

from kserve_intel.load import load_config
from kserve_intel.errors import ConfigError
from kserve_intel.plan import StackPlan, build_plan


def read_stack_plan() -> StackPlan:
    """Validate every `kserve-intel:*` key before any resource is registered.

    The whole config map is read (not key by key) so that unknown keys, such as
    a typo in a key name, are reported instead of silently ignored.
    """
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    secret_keys.update(key for key in raw if runtime_config.is_config_secret(key))
    try:
        plan = build_plan(load_config(raw, secret_keys), stack=pulumi.get_stack())
    except ConfigError as error:
        # RunError ends the program with just this message, no traceback.
        raise pulumi.RunError(str(error)) from None
    for warning in plan.warnings:
        pulumi.log.warn(warning)
    return plan
