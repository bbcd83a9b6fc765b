"""Benchmark the program's evaluation as the model list grows.

    python -m offline.bench [--sizes 1 10 50 100] [--repeat 5] [--stack xeon] [--out docs/benchmarks.md]

For each size N it evaluates the real `__main__.py` under the in-process
Pulumi mocks (the same engine as `make render` and the tests) with a
generated list of N models, and reports:

- wall time: median of `--repeat` evaluations (time.perf_counter);
- peak memory: the tracemalloc peak of Python allocations during one
  evaluation, measured in a separate run (tracing slows the program down, so
  it never overlaps the timed runs). It counts what the program and the Pulumi
  SDK allocate, not the interpreter's resident size: ru_maxrss only ever grows
  within a process and could not be told apart per size;
- resources registered (components included);
- the longest dependency chain: the most resources on one path through the
  graph of `depends_on` and parent edges, i.e. the steps a real `pulumi up`
  must wait through one after another.

An empty Pulumi program evaluated by the same engine in the same run is the
baseline. Goals (measured here, not asserted by timed tests): the chain does
not grow with N (models deploy in parallel), 100 models take less than 3 s
above the baseline on a 2-core machine, and memory grows linearly with N.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

from kserve_intel.catalog.models import CATALOGUE

from .engine import PROJECT_ROOT, Evaluation, evaluate, stack_config

DEFAULT_SIZES = (1, 10, 50, 100)
TIME_GOAL_SECONDS = 3.0
TIME_GOAL_SIZE = 100
# A Hugging Face token as `pulumi config set --secret` would give it, so the
# token Secret and every model's secretKeyRef are part of what is measured.
TOKEN = "hf_benchmark_token_not_real"


@dataclass(frozen=True)
class Measurement:
    label: str
    models: int | None  # None: the empty program
    seconds: float  # median
    runs: tuple[float, ...]
    peak_bytes: int
    resources: int
    chain: tuple[str, ...]  # URNs, first to last

    @property
    def chain_length(self) -> int:
        return len(self.chain)


def model_list(stack: str, count: int) -> list[Any]:
    """`count` models: the catalogue's entries for the stack's platform first, then synthetic open models."""
    platform_name = _platform_of(stack)
    models: list[Any] = [entry.id for entry in CATALOGUE.values() if entry.tuning(platform_name)][:count]
    for i in range(count - len(models)):
        models.append({"id": f"bench-org/synthetic-model-{i:03d}", "gated": False})
    return models


def _platform_of(stack: str) -> str:
    config, _ = stack_config(stack)
    return config["kserve-intel:platform"]


def longest_chain(evaluation: Evaluation) -> tuple[str, ...]:
    """The longest path (in resources) through dependency and parent edges."""
    by_urn = evaluation.by_urn()
    waits_for: dict[str, set[str]] = {
        urn: {d for d in (*r.dependencies, r.parent) if d in by_urn} for urn, r in by_urn.items()
    }

    @lru_cache(maxsize=None)
    def chain_to(urn: str) -> tuple[str, ...]:
        best: tuple[str, ...] = ()
        for before in sorted(waits_for[urn]):
            candidate = chain_to(before)
            if len(candidate) > len(best):
                best = candidate
        return (*best, urn)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(by_urn) + 100))
    try:
        return max((chain_to(urn) for urn in sorted(by_urn)), key=len, default=())
    finally:
        sys.setrecursionlimit(limit)


def _measure(label: str, models: int | None, run: Callable[[], Evaluation], repeat: int) -> Measurement:
    evaluation = run()  # warm-up, and the evaluation the counts come from
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        runs.append(time.perf_counter() - start)
    tracemalloc.start()
    try:
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Measurement(label, models, statistics.median(runs), tuple(runs), peak,
                       len(evaluation.registrations), longest_chain(evaluation))


def measure_baseline(repeat: int) -> Measurement:
    with tempfile.TemporaryDirectory() as tmp:
        program = Path(tmp) / "__main__.py"
        program.write_text('"""An empty Pulumi program."""\nimport pulumi  # noqa: F401\n')
        return _measure("empty program", None, lambda: evaluate({}, stack="bench", program=program), repeat)


def measure_models(stack: str, count: int, repeat: int) -> Measurement:
    config, secret_keys = stack_config(stack, {"models": json.dumps(model_list(stack, count)), "hfToken": TOKEN})
    return _measure(f"{count} model{'s' if count != 1 else ''}", count,
                    lambda: evaluate(config, secret_keys, stack=stack), repeat)


def run_benchmark(stack: str = "xeon", sizes: Sequence[int] = DEFAULT_SIZES, repeat: int = 5) -> list[Measurement]:
    """The baseline first, then each size, all in this process."""
    baseline = measure_baseline(repeat)
    return [baseline, *(measure_models(stack, n, repeat) for n in sizes)]


# ------------------------------------------------------------------ report

def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import pulumi

        sdk = getattr(pulumi, "__version__", None) or _dist_version("pulumi")
    except ImportError:
        sdk = "?"
    return {
        "cpu": cpu,
        "cores": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pulumi": sdk,
        "pulumi-kubernetes": _dist_version("pulumi_kubernetes"),
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def goals(results: Sequence[Measurement]) -> list[tuple[str, bool, str]]:
    baseline, sized = results[0], [m for m in results if m.models]
    outcome = []
    chains = sorted({m.chain_length for m in sized})
    outcome.append((
        "the dependency chain does not grow with the number of models",
        len(chains) == 1,
        f"longest chain {', '.join(f'{m.chain_length} ({m.models})' for m in sized)}",
    ))
    target = next((m for m in sized if m.models == TIME_GOAL_SIZE), None)
    if target is not None:
        above = target.seconds - baseline.seconds
        outcome.append((
            f"{TIME_GOAL_SIZE} models evaluate in under {TIME_GOAL_SECONDS:g} s above the baseline",
            above < TIME_GOAL_SECONDS,
            f"{above:.2f} s above the baseline",
        ))
    if len(sized) >= 2:
        # Linear: the bytes each added model costs stay about the same from one
        # size to the next (within 2x; a quadratic cost doubles with N).
        slopes = [
            (b.peak_bytes - a.peak_bytes) / (b.models - a.models)
            for a, b in zip(sized, sized[1:]) if b.models > a.models
        ]
        linear = all(s > 0 for s in slopes) and max(slopes) <= 2 * min(slopes)
        outcome.append((
            "memory grows linearly with the number of models",
            linear,
            "per added model: " + ", ".join(f"{s / 1024:.0f} KiB" for s in slopes),
        ))
    return outcome


def markdown(results: Sequence[Measurement], stack: str, repeat: int) -> str:
    baseline = results[0]
    info = machine()
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m offline.bench`); do not edit by hand. It evaluates the real",
        "`__main__.py` under the in-process Pulumi mocks (no cluster, no engine) with generated model lists on",
        f"the `{stack}` stack: the catalogue's models for the platform first, then synthetic open models, plus",
        "an `hfToken`. The baseline is an empty Pulumi program evaluated by the same engine in the same run.",
        "",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {info['cpu']}, {info['cores']} cores, {info['os']}",
        f"- Python {info['python']}, pulumi {info['pulumi']}, pulumi-kubernetes {info['pulumi-kubernetes']}",
        f"- wall time: median of {repeat} evaluations after a warm-up (`time.perf_counter`)",
        "- peak memory: tracemalloc peak of Python allocations during one separate evaluation",
        "- chain: most resources on one path of `depends_on` + parent edges (what `pulumi up` waits through in turn)",
        "",
        "| program | wall time (median) | above baseline | peak memory | resources | longest chain |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        above = "" if m.models is None else f"{m.seconds - baseline.seconds:+.3f} s"
        lines.append(
            f"| {m.label} | {m.seconds:.3f} s | {above} | {m.peak_bytes / 2**20:.1f} MiB | {m.resources} | {m.chain_length} |"
        )
    lines += ["", "## Goals", ""]
    for text, met, detail in goals(results):
        lines.append(f"- {'met' if met else '**MISSED**'}: {text} ({detail})")
    largest = max((m for m in results if m.models), key=lambda m: m.models, default=None)
    if largest is not None:
        lines += ["", f"## Longest chain with {largest.label}", "", "```"]
        lines += [_short(urn) for urn in largest.chain]
        lines += ["```", ""]
    return "\n".join(lines)


def _short(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<type chain>::<name> -> "<type> <name>"
    parts = urn.split("::")
    return f"{parts[-2].rsplit('$', 1)[-1]}  {parts[-1]}" if len(parts) >= 4 else urn


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="numbers of models")
    parser.add_argument("--repeat", type=int, default=5, help="timed evaluations per size (median)")
    parser.add_argument("--stack", default="xeon", help="stack file the models are added to")
    parser.add_argument("--out", type=Path, help="write the Markdown report here (e.g. docs/benchmarks.md)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or any(n < 1 for n in args.sizes):
        parser.error("--repeat and --sizes must be at least 1")
    results = run_benchmark(args.stack, sorted(set(args.sizes)), args.repeat)
    report = markdown(results, args.stack, args.repeat)
    print(report)
    if args.out:
        out = args.out if args.out.is_absolute() else PROJECT_ROOT / args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        from offline.bench_engine import kept_section  # `make bench-engine`'s section of the same report stays
        kept = kept_section(out)
        out.write_text(report + ("\n" + kept if kept else ""))
        print(f"wrote {out}", file=sys.stderr)
    # Goals are reported, not enforced: timing depends on the machine.
    return 0


if __name__ == "__main__":
    sys.exit(main())
