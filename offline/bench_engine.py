"""Benchmark the program on the real engine: the Pulumi CLI, our language host and the Kubernetes provider
against the local cluster (engine/localcluster.py), beside the mock figures of `make bench`.

    python -m offline.bench_engine [--sizes 1 10 50] [--up-sizes 1 20] [--repeat 3] [--ready-delay 20]
                                   [--out docs/benchmarks.md]

One run, one cluster (KServe v0.13.0, Xeon stacks, models of 4 CPUs so 50 fit on the three fake nodes):

- `pulumi preview` wall time (median of --repeat) of an empty Python program (the baseline: the CLI, the
  language host and the SDK starting and finishing) and of the program with 1, 10 and 50 models; ratios to
  the baseline; the cost per additional model, (t(50) - t(1)) / 49;
- `pulumi up` to Ready (every InferenceService awaited by the provider) of 1 and 20 models with kwok's
  readiness delay fixed (--ready-delay seconds per pod): the ratio 20:1 shows whether the models roll out
  in parallel;
- peak memory (VmHWM of /proc/<pid>/status, polled every 0.1 s while the command runs) of the CLI, the
  language host, the Python program it runs and the provider, the largest over all runs of a size.

Goals (reported, not asserted: timing depends on the machine): preview cost per additional model under
100 ms; `up` of 20 models within 1.5x of 1 model. The report replaces the section between the markers in
--out (`make bench` keeps that section when it rewrites the rest).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from engine.localcluster import LocalCluster, build_engine

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VERSION = "v0.13.0"
MODEL = "Qwen/Qwen2.5-7B-Instruct"
SMALL = {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": {"cpu": "4", "memory": "16Gi"}}
START, END = "<!-- bench-engine:start -->", "<!-- bench-engine:end -->"
ROLES = ("CLI", "language host", "program", "provider")


def stack_config(namespace: str, count: int) -> dict:
    return {"platform": "xeon", "kserve": {"version": VERSION, "install": False}, "namespace": namespace,
            "storage": {"size": "1Gi"},
            "models": [{"id": MODEL, "name": f"m{i}", "resources": SMALL} for i in range(count)]}


def role(pid: int) -> str | None:
    """Which of the engine's processes `pid` is, from its command line."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    exe = os.path.basename(argv[0].decode(errors="replace")) if argv and argv[0] else ""
    if exe == "pulumi":
        return "CLI"
    if exe == "pulumi-language-python":
        return "language host"
    if exe == "pulumi-resource-kubernetes":
        return "provider"
    if any(b"pulumi-language-python-exec" in a for a in argv):
        return "program"
    return None


def vm_hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(Path(entry, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


@dataclass
class Run:
    seconds: float
    peak_kib: dict[str, int] = field(default_factory=dict)


def run_measured(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 1800) -> Run:
    """Run a CLI command, polling the VmHWM of every process of its tree; fail on a non-zero exit."""
    peak: dict[str, int] = {}
    start = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        while proc.poll() is None:
            for pid in descendants(proc.pid):
                name = role(pid)
                if name:
                    peak[name] = max(peak.get(name, 0), vm_hwm_kib(pid))
            if time.monotonic() - start > timeout:
                proc.kill()
            time.sleep(0.1)
        seconds = time.monotonic() - start
        if proc.returncode != 0:
            log.seek(0)
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{log.read()[-4000:]}")
    return Run(seconds, peak)


@dataclass
class Size:
    label: str
    models: int | None
    runs: list[Run]

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    def peak(self, name: str) -> int:
        return max((r.peak_kib.get(name, 0) for r in self.runs), default=0)


def empty_project(root: Path) -> Path:
    """A Python Pulumi program that registers nothing, run by the same venv, host and CLI."""
    project = root / "empty"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        "name: bench-empty\nruntime:\n  name: python\n  options:\n    toolchain: pip\n"
        f"    virtualenv: {PROJECT_ROOT / '.venv'}\n")
    (project / "__main__.py").write_text('"""An empty Pulumi program."""\nimport pulumi  # noqa: F401\n')
    return project


def run_benchmark(sizes: Sequence[int], up_sizes: Sequence[int], repeat: int, ready_delay: float,
                  parallel: int = 64) -> dict:
    sys.path.insert(0, str(PROJECT_ROOT))
    from tests.e2e.pulumi_cli import PulumiCLI  # the e2e harness: isolated home, file backend, passphrase

    bins = build_engine(("pulumi", "provider", "kubernetes", "etcd", "kwok", "kserve-v0.13"))
    results: dict = {"preview": [], "up": [], "destroy": {}, "parallel": parallel}
    with tempfile.TemporaryDirectory(prefix="kserve-intel-bench-") as tmp, \
            LocalCluster(bins, kserve_version=VERSION, ready_delay_seconds=ready_delay) as cluster:
        results["cluster_seconds"] = cluster.start_seconds
        cli = PulumiCLI(bins, cluster.kubeconfig, Path(tmp))
        base = [f"{bins}/pulumi", "--non-interactive"]
        empty = empty_project(Path(tmp))
        subprocess.run(base + ["stack", "init", "bench-empty", "--secrets-provider", "passphrase"], cwd=empty,
                       env=cli.env, check=True, capture_output=True)
        # One config value: our language host (engine/pulumi) hands a stack without any config to the program
        # as `null`, which the SDK's set_all_config cannot iterate (reported to the lead).
        subprocess.run(base + ["config", "set", "--stack", "bench-empty", "bench-empty:unused", "1"], cwd=empty,
                       env=cli.env, check=True, capture_output=True)
        warm = base + ["preview", "--stack", "bench-empty"]
        run_measured(warm, empty, cli.env)  # warm-up: caches, plugin lookups
        results["preview"].append(Size("empty program", None,
                                       [run_measured(warm, empty, cli.env) for _ in range(repeat)]))
        for n in sizes:
            stack = f"preview-{n}"
            cli.init(stack, stack_config(f"bench-preview-{n}", n))
            argv = base + ["preview", "--stack", stack]
            results["preview"].append(Size(f"{n} model{'s' if n != 1 else ''}", n,
                                           [run_measured(argv, cli.project, cli.env) for _ in range(repeat)]))
            print(f"[bench-engine] preview {n}: {results['preview'][-1].median:.2f}s", file=sys.stderr)
        runs = [(n, ["--parallel", str(parallel)], f"{n} model{'s' if n != 1 else ''}") for n in up_sizes]
        # The CLI's own default (4 operations per CPU) for the largest size: what `--parallel` changes.
        default = 4 * (os.cpu_count() or 1)
        runs.append((max(up_sizes), [], f"{max(up_sizes)} models, the CLI's default --parallel ({default})"))
        for i, (n, extra, label) in enumerate(runs):
            stack = f"up-{i}-{n}"
            cli.init(stack, stack_config(f"bench-up-{i}-{n}", n))
            up = run_measured(base + ["up", "--yes", "--skip-preview", "--stack", stack, *extra], cli.project, cli.env)
            results["up"].append(Size(label, n, [up]))
            print(f"[bench-engine] up {label}: {up.seconds:.1f}s", file=sys.stderr)
            down = run_measured(base + ["destroy", "--yes", "--skip-preview", "--stack", stack, *extra],
                                cli.project, cli.env)
            results["destroy"][label] = down.seconds
    return results


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB" if kib else "n/a"


def markdown(results: dict, repeat: int, ready_delay: float) -> str:
    preview: list[Size] = results["preview"]
    base = preview[0].median
    lines = [START, "## Real engine", "",
             "Generated by `make bench-engine` (`python -m offline.bench_engine`); do not edit by hand. The real "
             "Pulumi CLI, our Python language host and the Kubernetes provider (engine/) against the local cluster "
             f"(KServe {VERSION}, fake Xeon nodes), one run: Xeon stacks of N models of 4 CPUs each, no policy pack, "
             "a local file backend. The baseline is an empty Python program previewed by the same CLI in the same "
             "run.", "",
             f"- date: {datetime.date.today().isoformat()}",
             f"- machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
             f"{os.getloadavg()[0]:.1f} at the end (the machine is shared: wall times are upper bounds)",
             f"- preview: median of {repeat} after a warm-up; up: one run to every InferenceService Ready, kwok's "
             f"readiness delay {ready_delay:g} s per pod, `--parallel {results['parallel']}` (as `make up`) unless the "
             f"row says otherwise; local cluster started in {results['cluster_seconds']:.0f} s",
             "- peak memory: VmHWM (peak resident set) of each process, polled every 0.1 s, the largest over the runs", "",
             "| `pulumi preview` | wall time (median) | ratio to empty | " + " | ".join(f"peak {r}" for r in ROLES) + " |",
             "|---|---:|---:|" + "---:|" * len(ROLES)]
    for size in preview:
        lines.append(f"| {size.label} | {size.median:.2f} s | {size.median / base:.2f}x | "
                     + " | ".join(_mib(size.peak(r)) for r in ROLES) + " |")
    ups: list[Size] = results["up"]
    lines += ["", "| `pulumi up` to Ready | wall time | ratio to 1 model | `destroy` | "
              + " | ".join(f"peak {r}" for r in ROLES) + " |", "|---|---:|---:|---:|" + "---:|" * len(ROLES)]
    one = next((u.median for u in ups if u.label == "1 model"), None)
    for size in ups:
        ratio = f"{size.median / one:.2f}x" if one else ""
        lines.append(f"| {size.label} | {size.median:.1f} s | {ratio} | {results['destroy'][size.label]:.1f} s | "
                     + " | ".join(_mib(size.peak(r)) for r in ROLES) + " |")
    lines += ["", "### Goals", ""]
    by_n = {s.models: s.median for s in preview if s.models}
    if len(by_n) >= 2:
        lo, hi = min(by_n), max(by_n)
        per_model = (by_n[hi] - by_n[lo]) / (hi - lo) * 1000
        lines.append(f"- {'met' if per_model < 100 else 'missed'}: preview cost per additional model under 100 ms "
                     f"({per_model:.0f} ms, from {lo} to {hi} models)")
    twenty = next((u.median for u in ups if u.label == "20 models"), None)
    if one and twenty:
        lines.append(f"- {'met' if twenty <= 1.5 * one else 'missed'}: `up` of 20 models within 1.5x of 1 model "
                     f"({twenty / one:.2f}x: {twenty:.1f} s against {one:.1f} s)")
    lines.append(END)
    return "\n".join(lines) + "\n"


def replace_section(path: Path, section: str) -> None:
    """Put `section` (with its markers) in place of the old one, or append it."""
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def kept_section(path: Path) -> str:
    """The real-engine section of an existing report (what `make bench` keeps), or ''."""
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        return START + text.split(START, 1)[1].split(END, 1)[0] + END + "\n"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.bench_engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50], help="models per previewed stack")
    parser.add_argument("--up-sizes", type=int, nargs="+", default=[1, 20], help="models per `up` to Ready")
    parser.add_argument("--repeat", type=int, default=3, help="timed previews per size (median)")
    parser.add_argument("--ready-delay", type=float, default=20, help="seconds each fake pod takes to turn Ready")
    parser.add_argument("--parallel", type=int, default=64, help="`pulumi up --parallel` (as `make up`)")
    parser.add_argument("--out", type=Path, help="replace the real-engine section of this report")
    args = parser.parse_args(argv)
    results = run_benchmark(sorted(set(args.sizes)), sorted(set(args.up_sizes)), args.repeat, args.ready_delay,
                            args.parallel)
    report = markdown(results, args.repeat, args.ready_delay)
    print(report)
    if args.out:
        out = args.out if args.out.is_absolute() else PROJECT_ROOT / args.out
        replace_section(out, report)
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
