"""Resolve every image the stack runs to its digest during `pulumi preview` and `up`, before any resource."""

from __future__ import annotations

from dataclasses import replace

import pulumi
from pulumi.runtime import mocks, settings

from kserve_intel.builders.images import images_summary, stack_images, unknown_charts
from kserve_intel.errors import ConfigError
from kserve_intel.online.images import Resolver
from kserve_intel.plan import StackPlan
from kserve_intel.rules.images import pin, resolve_false_warning, unused_issues


def _resolver(plan: StackPlan):
    """The registries' API, or None under Pulumi's mocks (the offline render: nothing is asked).

    A mock engine may carry a resolver of its own (`offline.engine.evaluate(image_resolver=...)`), so the
    program can be rendered as a preview would apply it."""
    monitor = settings.get_monitor()
    if isinstance(monitor, mocks.MockMonitor):
        return getattr(monitor, "image_resolver", None)
    images = plan.config.images
    credentials = {host: (c.username, c.password.get_secret_value()) for host, c in images.credentials.items()}
    return Resolver(credentials, plain_http=images.plain_http, timeout=images.timeout_seconds)


def pin_images(plan: StackPlan) -> StackPlan:
    """The plan with every image mirrored and pinned by digest (`images.resolve`, online); stop on a refusal.

    Runs in `preview` and `up` alike, so the preview shows the digests that `up` applies and a moved tag is a
    diff. With `images.resolve: false` (one warning) or under the offline render, the plan keeps the config's
    mirrors and digests only."""
    for chart in unknown_charts(plan):
        pulumi.log.warn(f"the images of chart {chart} are not in the image catalogue: they are not listed by "
                        "`make images`, mirrored nor pinned; pin a chart version the catalogue knows")
    uses = stack_images(plan)
    unused = unused_issues(uses, plan.config)
    if unused:
        raise pulumi.RunError(str(ConfigError(unused))) from None
    if not plan.config.images.resolve:
        pulumi.log.warn(resolve_false_warning(uses, plan.images))
        return plan
    resolver = _resolver(plan)
    if resolver is None:
        return plan
    try:
        images = pin(uses, plan.config, resolver)
    except ConfigError as error:
        # RunError ends the program with just this message, before any resource is registered.
        raise pulumi.RunError(str(error)) from None
    finally:
        if isinstance(resolver, Resolver):
            resolver.close()
    return replace(plan, images=images)


def images_output(plan: StackPlan) -> list[dict]:
    """The stack output `images`: each image once (`image`, as `make images` prints it), what the nodes pull
    (`pulled`: mirrored, pinned by digest) and what runs it (`usedBy`)."""
    return images_summary(plan)
