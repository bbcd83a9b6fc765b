"""Which serving stack each model runs, and every rule about `servingStack`, `backend` and `gaudiSoftware`.

The stacks themselves (image, entry point, flags, env, tuned values) are data: catalog/serving_stacks.py.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from ..catalog.platforms import PlatformProfile
from ..catalog.serving_stacks import BUILT_IN_BACKENDS, STACKS, ServingStack, default_stack, offered, software_release
from ..config.stack import StackConfig
from ..errors import ConfigIssue
from .custom_runtimes import custom_stacks


def available(config: StackConfig) -> Mapping[str, ServingStack]:
    """The built-in stacks and the stack's own runtimes (runtimes.custom), by name."""
    return {**STACKS, **custom_stacks(config)}


def _backend_stack(config: StackConfig, backend: str) -> ServingStack:
    """What a backend name means on the platform: a custom runtime, or the backend's newest stack."""
    stacks = available(config)
    if backend not in BUILT_IN_BACKENDS:
        return stacks[backend]
    return default_stack(config.platform, config.gaudi_software, backend)


def resolve(config: StackConfig) -> ServingStack:
    """The stack-wide serving stack: `servingStack`, else the newest of `backend` (default vLLM) for
    the platform and `gaudiSoftware`."""
    if config.serving_stack:
        return STACKS[config.serving_stack]
    return _backend_stack(config, config.backend or "vllm")


def _means(stack: ServingStack, backend: str) -> bool:
    return stack.backend == backend or (stack.backend == "custom" and stack.name == backend)


def resolve_model(config: StackConfig, model) -> ServingStack:
    """The stack one model runs: its own `servingStack`, else the stack-wide stack when that runs the
    model's `backend` (or the model names none), else the newest stack of the model's backend."""
    if model.serving_stack:
        return STACKS[model.serving_stack]
    wide = resolve(config)
    if model.backend and not _means(wide, model.backend):
        return _backend_stack(config, model.backend)
    return wide


def runtime_name(platform: PlatformProfile, stack: ServingStack, stack_wide: bool) -> str:
    """The ClusterServingRuntime name of a stack on a platform.

    The stack-wide vLLM stack keeps the platform's name (`intel-vllm-xeon`), so choosing another
    stack-wide vLLM stack updates that runtime in place; any other stack gets a name of its own that
    encodes it (`intel-xeon-vllm-0-10`, `intel-gaudi-tgi-gaudi-3-3`, `intel-xeon-<custom name>`), so the
    runtimes coexist.
    """
    if stack_wide and stack.backend == "vllm":
        return platform.runtime_name
    return f"intel-{platform.name}-{stack.name.replace('.', '-')}"


def in_use(config: StackConfig) -> tuple[ServingStack, ...]:
    """The stacks whose runtimes the stack creates: the stack-wide one first, then each other
    stack a model picks, in the order the models name them. The stack-wide runtime is created when
    a model uses it or when the stack has no models (a stack that only provides the runtime)."""
    stack_wide = resolve(config)
    used = [resolve_model(config, m) for m in config.models]
    used_names = [s.name for s in used]
    stacks = ([stack_wide] if not used or stack_wide.name in used_names else []) + [
        s for s in used if s.name != stack_wide.name]
    return tuple({s.name: s for s in stacks}.values())


def _backend_issue(config: StackConfig, key: str, backend: str) -> ConfigIssue | None:
    """A backend name that means nothing on this platform."""
    platform = config.platform
    customs = [c.name for c in config.runtimes.custom]
    names = [b for b in BUILT_IN_BACKENDS if offered(platform, b)] + [
        c.name for c in config.runtimes.custom if platform in c.platforms]
    if backend in names:
        return None
    if backend in BUILT_IN_BACKENDS:
        where = ", ".join(sorted({p for st in STACKS.values() if st.backend == backend for p in st.platforms}))
        return ConfigIssue(key, f"is not offered on {platform} ({backend} runs on {where}); allowed: "
                           f"{', '.join(names)}", backend)
    if backend in customs:
        return ConfigIssue(key, f"runtime {backend} (runtimes.custom) does not list {platform} in its platforms; "
                           f"allowed: {', '.join(names)}", backend)
    return ConfigIssue(key, f"is not a backend; allowed: {', '.join(names)} (vllm, tgi, ovms or the name of a "
                       "runtime under runtimes.custom)", backend)


def _arg_issues(stack: ServingStack, source: str, args: list[str]) -> Iterable[ConfigIssue]:
    seen: set[str] = set()
    for arg in args:
        flag = arg.split("=", 1)[0]
        if stack.repeatable_args is not None and flag.startswith("-"):
            if flag in seen and flag not in stack.repeatable_args:
                yield ConfigIssue(f"{source}.extraArgs", f"{flag} is given twice; {stack.server}'s launcher refuses a "
                                  "repeated option (give it once)", arg)
            seen.add(flag)
        if stack.known_args is None:  # vLLM: the flags its version dropped
            reason = stack.rejects_arg(arg)
            if reason:
                yield ConfigIssue(f"{source}.extraArgs", f"{flag} is not accepted by serving stack {stack.name} "
                                  f"({stack.server}): {reason}", arg)
            continue
        if not flag.startswith("-"):
            continue  # a value of the option before it
        if flag in stack.reserved_args:
            yield ConfigIssue(f"{source}.extraArgs", f"{flag} is set by the program for serving stack {stack.name}; "
                              f"use {stack.reserved_args[flag]} instead", arg)
        elif flag not in stack.known_args:
            yield ConfigIssue(f"{source}.extraArgs", f"{flag} is not an option of {stack.server} (serving stack "
                              f"{stack.name}; options are spelled as its launcher does, e.g. "
                              f"{', '.join(list(stack.known_args)[:3])})", arg)


def serving_stack_checks(config: StackConfig) -> Iterable[ConfigIssue]:
    """Every rule about servingStack, backend, gaudiSoftware and what a stack's server accepts."""
    platform = config.platform
    names = [s.name for s in offered(platform)]
    allowed = f"is not offered on {platform}; allowed: {', '.join(names)}"
    if config.serving_stack is not None and config.serving_stack not in names:
        yield ConfigIssue("servingStack", allowed, config.serving_stack)
        return
    if config.backend is not None:
        issue = _backend_issue(config, "backend", config.backend)
        if issue:
            yield issue
            return
        if config.serving_stack is not None and not _means(STACKS[config.serving_stack], config.backend):
            yield ConfigIssue("servingStack", f"runs {STACKS[config.serving_stack].backend}, not backend "
                              f"{config.backend}; set one of the two", config.serving_stack)
            return
    if config.gaudi_software is not None and not platform.startswith("gaudi"):
        yield ConfigIssue("gaudiSoftware", f"has no effect on {platform}; remove it", config.gaudi_software)
    for i, model in enumerate(config.models):
        if model.serving_stack is not None and model.serving_stack not in names:
            yield ConfigIssue(f"models[{i}].servingStack", allowed, model.serving_stack)
            continue
        if model.backend is not None:
            issue = _backend_issue(config, f"models[{i}].backend", model.backend)
            if issue:
                yield issue
                continue
            if model.serving_stack is not None and not _means(STACKS[model.serving_stack], model.backend):
                yield ConfigIssue(f"models[{i}].servingStack", f"runs {STACKS[model.serving_stack].backend}, not "
                                  f"models[{i}].backend {model.backend}; set one of the two", model.serving_stack)
                continue
        stack = resolve_model(config, model)
        for source, args, env in (
            (f"models[{i}]", model.extra_args, model.env),
            (f"models[{i}].canary", (model.canary.extra_args or []) if model.canary else [],
             (model.canary.env or {}) if model.canary else {}),
        ):
            yield from _arg_issues(stack, source, args)
            for key in env:
                if key in stack.rejected_env:
                    yield ConfigIssue(f"{source}.env", f"{key} is not read by serving stack {stack.name} "
                                      f"({stack.server}): {stack.rejected_env[key]}", key)
                elif key in stack.reserved_env:
                    yield ConfigIssue(f"{source}.env", f"{key} is set by the program for serving stack "
                                      f"{stack.name}; use {stack.reserved_env[key]} instead", key)


def serving_stack_warnings(config: StackConfig) -> list[str]:
    """What `pulumi up` warns about: a stack in use that the declared nodes cannot run."""
    declared = config.gaudi_software
    warnings = []
    for stack in in_use(config):
        if declared and stack.gaudi_software and software_release(declared) != software_release(stack.gaudi_software):
            users = [f"models[{i}]" for i, m in enumerate(config.models) if resolve_model(config, m).name == stack.name]
            chosen = "servingStack" if stack.name == resolve(config).name else " and ".join(f"{u}.servingStack" for u in users)
            warnings.append(
                f"{chosen} {stack.name} needs Gaudi software {stack.gaudi_software} (driver, firmware and "
                f"Gaudi operator) but gaudiSoftware says the nodes run {declared}; its pods will fail on those "
                f"nodes. Upgrade the nodes or pin the stack that matches them: "
                + ", ".join(s.name for s in offered(config.platform)
                            if s.gaudi_software and software_release(s.gaudi_software) == software_release(declared))
            )
    for stack in in_use(config):
        if stack.warning:
            users = [f"models[{i}]" for i, m in enumerate(config.models) if resolve_model(config, m).name == stack.name]
            warnings.append(f"{', '.join(users)} run{'s' if len(users) == 1 else ''} serving stack {stack.name} "
                            f"({stack.server}): {stack.warning}.")
    return warnings
