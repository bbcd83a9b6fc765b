"""Which serving stack each model runs, and every rule about `servingStack`, `backend` and `gaudiSoftware`.

The stacks themselves (image, entry point, flags, env, tuned values) are data: catalog/serving_stacks.py.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from ..catalog.platforms import PlatformProfile
from ..catalog.serving_stacks import BUILT_IN_BACKENDS, STACKS, ServingStack, default_stack, offered, software_release
from ..catalog.options import PLATFORM_VALUES
from ..config.reserved import RESERVED_ARGS, RESERVED_VLLM_ONLY
from ..config.stack import StackConfig
from ..errors import ConfigIssue
from .custom_runtimes import custom_stacks
from .flags import read_args


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


def reserved_options(stack: ServingStack) -> dict[str, tuple[str, str]]:
    """Option key -> (the reserved spelling, the config key to use instead), for the stack's parser."""
    table = stack.options
    reserved = dict(stack.reserved_args) if stack.backend != "vllm" else {**RESERVED_ARGS, **RESERVED_VLLM_ONLY}
    found: dict[str, tuple[str, str]] = {}
    for spelling, use in reserved.items():
        option = table.by_spelling(spelling) if table is not None else None
        if option is not None:
            found.setdefault(option.key, (spelling, use))
    return found


def _arg_issues(stack: ServingStack, platform: str, source: str, args: list[str]) -> Iterable[ConfigIssue]:
    """extraArgs read as the stack's server reads them (rules/flags.py): one issue per problem."""
    key = f"{source}.extraArgs"
    table = stack.options
    if table is None:  # a custom runtime: its server is not known; the program's own options stay its own
        for arg in args:
            flag = arg.split("=", 1)[0].replace("_", "-")
            if flag in RESERVED_ARGS:
                yield ConfigIssue(key, f"{flag} is set by the program; use {RESERVED_ARGS[flag]} instead", arg)
        return
    gone = {arg for arg in args if arg.startswith("-") and stack.rejects_arg(arg)}
    read = read_args(table, args, stack.extra_known_args)
    for problem in read.problems:
        if problem.arg in gone:
            flag = problem.arg.split("=", 1)[0]
            yield ConfigIssue(key, f"{flag} is not accepted by serving stack {stack.name} ({stack.server}): "
                              f"{stack.rejects_arg(problem.arg)}", problem.arg)
        else:
            yield ConfigIssue(key, f"{problem.message} (serving stack {stack.name})", problem.arg)
    reserved = reserved_options(stack)
    for given in read.options:
        name = given.written.split("=", 1)[0]
        if given.option.key in reserved:
            spelling, use = reserved[given.option.key]
            if name in (spelling, given.option.key):
                what = name
            elif name == given.spelling:
                what = f"{name} ({stack.server}'s alias of {spelling})"
            elif given.spelling in (spelling, given.option.key):
                what = f"{name} (read by {stack.server} as {given.spelling})"
            else:
                what = f"{name} (read by {stack.server} as {given.spelling}, i.e. {spelling})"
            yield ConfigIssue(key, f"{what} is set by the program for serving stack {stack.name}; use {use} instead",
                              given.shown)
            continue
        allowed = PLATFORM_VALUES.get((platform, given.option.dest)) if stack.backend == "vllm" else None
        if allowed is not None and given.value is not None and not (given.dotted or given.refused) and \
                not allowed.allows(given.value):
            yield ConfigIssue(key, f"{given.spelling} {given.value} is not accepted on {platform}; allowed: "
                              f"{allowed.describe()} ({allowed.why})", given.shown)


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
    resolvable = True
    for i, model in enumerate(config.models):
        if model.serving_stack is not None and model.serving_stack not in names:
            yield ConfigIssue(f"models[{i}].servingStack", allowed, model.serving_stack)
            resolvable = False
            continue
        if model.backend is not None:
            issue = _backend_issue(config, f"models[{i}].backend", model.backend)
            if issue:
                yield issue
                resolvable = False
                continue
            if model.serving_stack is not None and not _means(STACKS[model.serving_stack], model.backend):
                yield ConfigIssue(f"models[{i}].servingStack", f"runs {STACKS[model.serving_stack].backend}, not "
                                  f"models[{i}].backend {model.backend}; set one of the two", model.serving_stack)
                resolvable = False
                continue
        stack = resolve_model(config, model)
        for source, args, env in (
            (f"models[{i}]", model.extra_args, model.env),
            (f"models[{i}].canary", (model.canary.extra_args or []) if model.canary else [],
             (model.canary.env or {}) if model.canary else {}),
        ):
            yield from _arg_issues(stack, platform, source, args)
            for key in env:
                if key in stack.rejected_env:
                    yield ConfigIssue(f"{source}.env", f"{key} is not read by serving stack {stack.name} "
                                      f"({stack.server}): {stack.rejected_env[key]}", key)
                elif key in stack.reserved_env:
                    yield ConfigIssue(f"{source}.env", f"{key} is set by the program for serving stack "
                                      f"{stack.name}; use {stack.reserved_env[key]} instead", key)
    if resolvable and platform.startswith("gaudi"):
        yield from gaudi_software_issues(config)


def gaudi_software_issues(config: StackConfig) -> Iterable[ConfigIssue]:
    """A stack in use that the declared nodes cannot run: its pods would fail on them, so it is refused, naming
    the key that chose the stack and gaudiSoftware."""
    declared = config.gaudi_software
    if not declared:
        return
    wide = resolve(config)
    for stack in in_use(config):
        if not stack.gaudi_software or software_release(declared) == software_release(stack.gaudi_software):
            continue
        users = [i for i, m in enumerate(config.models) if resolve_model(config, m).name == stack.name]
        if stack.name == wide.name and (not users or any(not (config.models[i].serving_stack or
                                                              config.models[i].backend) for i in users)):
            key = "servingStack" if config.serving_stack else "backend" if config.backend else "gaudiSoftware"
        else:
            i = users[0]
            key = f"models[{i}].servingStack" if config.models[i].serving_stack else f"models[{i}].backend"
        matching = [s.name for s in offered(config.platform, stack.backend)
                    if s.gaudi_software and software_release(s.gaudi_software) == software_release(declared)]
        allowed = (f"pick {', '.join(matching)} (built for {software_release(declared)})" if matching else
                   f"use another backend: no {stack.backend} stack is built for Gaudi software "
                   f"{software_release(declared)}")
        yield ConfigIssue(key, f"runs serving stack {stack.name}, built for Gaudi software {stack.gaudi_software} "
                          f"(driver, firmware and Gaudi operator), but gaudiSoftware says the nodes run {declared}: "
                          f"its pods would fail on those nodes; allowed: nodes upgraded and gaudiSoftware set to match, "
                          f"or {allowed}", stack.name)


def serving_stack_warnings(config: StackConfig) -> list[str]:
    """What `pulumi up` says whenever a model runs a stack with a warning of its own (upstream's maintenance mode)."""
    warnings = []
    for stack in in_use(config):
        if stack.warning:
            users = [f"models[{i}]" for i, m in enumerate(config.models) if resolve_model(config, m).name == stack.name]
            warnings.append(f"{', '.join(users)} run{'s' if len(users) == 1 else ''} serving stack {stack.name} "
                            f"({stack.server}): {stack.warning}.")
    return warnings
