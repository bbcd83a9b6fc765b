"""Each serving stack's command-line options, as its real parser defines them (data/options/*.json).

The tables are generated, never written by hand: vLLM's from the `vllm serve` parser of each pinned wheel
(tools/option_tables.py inside the parser venvs; tests/test_option_tables.py regenerates them and fails on a
difference), TGI's from the clap attributes of launcher/src/main.rs and OVMS's from the cxxopts blocks of
src/cli_parser.cpp at their pinned tags (the table's `source` names the commit).

Every spelling an option has (long, short alias, `--no-*` form) leads to one `Option` with its kind (a flag
or a value), its type and its choices. How a written argument is resolved to an option (underscores,
unambiguous prefixes, `=` forms) is rules/flags.py; what each platform allows beyond the parser's own
choices is `PLATFORM_VALUES` below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

OPTIONS_DIR = Path(__file__).parent / "data" / "options"


@dataclass(frozen=True)
class Option:
    """One option of a server's parser, under its primary (first long, positive) spelling."""

    key: str
    dest: str
    option_strings: tuple[str, ...]
    # Spellings that set a boolean to false (`--no-enforce-eager`).
    negative: tuple[str, ...]
    # store, store_true, store_false, boolean_optional, append, count, help, version, custom...
    kind: str
    takes_value: bool
    # argparse nargs (None: exactly one value; "?", "+", "*", 0) as the parser declares it.
    nargs: Any
    # A name of the parser's type: int, float, str, json, optional[int], human_readable_int, u64, size_t...
    type: str | None
    choices: tuple[str, ...] | None
    default: Any = None

    @property
    def is_flag(self) -> bool:
        return not self.takes_value


@dataclass(frozen=True)
class OptionTable:
    """Every option of one server version's parser, by every spelling."""

    name: str
    backend: str
    version: str
    options: Mapping[str, Option]
    index: Mapping[str, str]
    # argparse's allow_abbrev: an unambiguous prefix of a long option is that option.
    allow_abbrev: bool
    # vLLM's FlexibleArgumentParser: `--max_model_len` is `--max-model-len`, `-O3` the optimization level,
    # `--compilation-config.mode 0` a key of a JSON option.
    flexible: bool
    # Options that may be given more than once; None: any may (argparse and cxxopts keep the last one).
    repeatable: frozenset[str] | None
    source: Mapping[str, str]
    # `--compilation-config.mode 0` (a key of a JSON option), as probed through the real parser.
    dotted_keys: bool = False

    def by_spelling(self, spelling: str) -> Option | None:
        key = self.index.get(spelling)
        return self.options[key] if key is not None else None

    def spellings_of(self, key: str) -> tuple[str, ...]:
        return self.options[key].option_strings if key in self.options else ()

    @property
    def long_options(self) -> tuple[str, ...]:
        return tuple(s for s in self.index if s.startswith("--"))


def _choices(raw: Any) -> tuple[str, ...] | None:
    return None if raw is None else tuple(str(c) for c in raw)


@lru_cache(maxsize=None)
def option_table(name: str) -> OptionTable:
    """The committed table `data/options/<name>.json` (e.g. `vllm-0.33.0`, `tgi-3.3.7`)."""
    raw = json.loads((OPTIONS_DIR / f"{name}.json").read_text())
    options = {
        key: Option(key=key, dest=spec["dest"], option_strings=tuple(spec["option_strings"]),
                    negative=tuple(spec.get("negative") or ()), kind=spec["kind"],
                    takes_value=bool(spec["takes_value"]), nargs=spec.get("nargs"), type=spec.get("type"),
                    choices=_choices(spec.get("choices")), default=spec.get("default"))
        for key, spec in raw["options"].items()
    }
    index = raw.get("index") or {s: key for key, o in options.items() for s in o.option_strings}
    backend = raw["stack"]
    # clap refuses a second occurrence of every option that is not a Vec (TGI); argparse/cxxopts keep the last.
    repeatable = frozenset(k for k, o in options.items() if o.kind == "append") if backend == "tgi" else None
    return OptionTable(
        name=name, backend=backend, version=raw["version"], options=MappingProxyType(options),
        index=MappingProxyType(dict(index)), allow_abbrev=bool(raw.get("allow_abbrev", False)),
        flexible=backend == "vllm", repeatable=repeatable,
        source=MappingProxyType(dict(raw.get("source") or {"parser": raw.get("parser", "")})),
        dotted_keys=any(k.startswith("dotted JSON key") and v["result"] == "accepted"
                        for k, v in (raw.get("spellings") or {}).items()),
    )


@dataclass(frozen=True)
class AllowedValues:
    """Values a platform's server accepts for an option beyond what its parser checks, and why."""

    values: tuple[str, ...] = ()
    # A numeric range (low exclusive, high inclusive), for floats such as the memory utilisation.
    above: float | None = None
    at_most: float | None = None
    # A whole number that is a multiple of this.
    multiple_of: int | None = None
    why: str = ""

    def allows(self, value: str) -> bool:
        if self.values and value not in self.values:
            return False
        if self.above is not None or self.at_most is not None:
            try:
                number = float(value)
            except ValueError:
                return False
            if self.above is not None and number <= self.above:
                return False
            if self.at_most is not None and number > self.at_most:
                return False
        if self.multiple_of is not None:
            if not value.isdigit() or int(value) % self.multiple_of:
                return False
        return True

    def describe(self) -> str:
        if self.values:
            return ", ".join(self.values)
        if self.multiple_of is not None:
            return f"a multiple of {self.multiple_of}"
        low = f"above {self.above:g}" if self.above is not None else ""
        high = f"at most {self.at_most:g}" if self.at_most is not None else ""
        return " and ".join(p for p in (low, high) if p)


_UTILISATION = AllowedValues(above=0.0, at_most=1.0, why=(
    "vLLM's CacheConfig declares gpu_memory_utilization Field(gt=0, le=1) (config/cache.py:215 in 0.33.0); "
    "it is the share of the card's free memory vLLM may take"))


_GAUDI_BLOCK = AllowedValues(values=("128",), why=(
    "the Gaudi stacks' bucketing (VLLM_DECODE_BLOCK_BUCKET_MIN/STEP and VLLM_PROMPT_QUERY_BUCKET_MIN, tuned "
    "for 128-token blocks) and the HPU attention kernels assume 128: vllm-gaudi sets 128 unless told otherwise "
    "('smaller sizes still work, but very inefficiently', vllm_gaudi/platform.py) and the fork's README_GAUDI.md "
    "asks for 128 with bf16"))


# (platform, option dest) -> what that platform's servers accept. Keys are argparse dests, so every spelling
# of the option (`--gpu-memory-utilization`, `--device-memory-utilization`, a prefix) is checked.
PLATFORM_VALUES: Mapping[tuple[str, str], AllowedValues] = MappingProxyType({
    ("xeon", "device"): AllowedValues(values=("auto", "cpu"), why="the pod runs on Xeon CPUs, no accelerator"),
    ("gaudi", "device"): AllowedValues(values=("auto", "hpu"), why="the pod's accelerator is a Gaudi card (hpu)"),
    ("gaudi3", "device"): AllowedValues(values=("auto", "hpu"), why="the pod's accelerator is a Gaudi card (hpu)"),
    ("xeon", "block_size"): AllowedValues(multiple_of=32, why=(
        "vLLM's CPU attention kernels take blocks in multiples of 32 (v1/attention/backends/cpu_attn.py "
        "get_supported_kernel_block_sizes in 0.33.0)")),
    ("gaudi", "block_size"): _GAUDI_BLOCK,
    ("gaudi3", "block_size"): _GAUDI_BLOCK,
    ("xeon", "gpu_memory_utilization"): _UTILISATION,
    ("gaudi", "gpu_memory_utilization"): _UTILISATION,
    ("gaudi3", "gpu_memory_utilization"): _UTILISATION,
})
