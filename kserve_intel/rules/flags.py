"""Read `extraArgs` the way the stack's server will: every spelling resolved to its option, every value checked.

A serving stack's option table (catalog/options.py, generated from its real parser) says which options exist
under which spellings. This module resolves each written argument as that parser does:

- vLLM (argparse under vLLM's FlexibleArgumentParser): `--max_model_len` is `--max-model-len`; `--opt=value`;
  an unambiguous prefix of a long option is that option (`--tensor-parallel 2`, allow_abbrev); a single-dash
  argument is a short option, the prefix of one (`-t` is `-tp` when no other short option starts with it) or a
  one-letter option with its value attached (`-qfp8`); `-O3` is `--optimization-level 3` (0.33) or `-O 3`;
  `--compilation-config.mode 0` sets a key of a JSON option;
- TGI (clap): `--opt value`, `--opt=value`, `-p 8080`; no prefixes, no underscores; a second occurrence of an
  option that is not a list is an error;
- OVMS (cxxopts): `--opt value`, `--opt=value`; booleans may say `=true`/`=false`.

`read_args` returns the options found (each with the spelling written and its value) and what the parser would
refuse, with why. Rules on top (reserved options, per-platform values) are rules/serving_stacks.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..catalog.options import Option, OptionTable

_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")
_HUMAN_INT = re.compile(r"^\d+(\.\d+)?[kKmMgGtT]?$")
_BOOL_WORDS = ("true", "false", "True", "False", "yes", "no")


@dataclass(frozen=True)
class GivenOption:
    """One option as written in extraArgs, resolved to the parser's option."""

    written: str
    option: Option
    # The option string the parser resolved it to (`-tp`, `--tensor-parallel-size`, `--no-enforce-eager`).
    spelling: str
    value: str | None
    # `--compilation-config.mode 0`: one key of a JSON option (its value is JSON, not checked here).
    dotted: bool = False
    # Its value is refused by the parser (a problem is reported for it).
    refused: bool = False
    # The value is part of the written argument (`-tp=4`, `-qfp8`, `-O3`), not the next one.
    attached: bool = False

    @property
    def shown(self) -> str:
        """The option and its value as written in extraArgs (`-tp 4`, `--dtype=bf16`)."""
        return self.written if self.value is None or self.attached else f"{self.written} {self.value}"


@dataclass(frozen=True)
class ArgProblem:
    """Something the server's parser would refuse, and why (the key path is added by the caller)."""

    arg: str
    message: str


@dataclass
class ReadArgs:
    options: list[GivenOption] = field(default_factory=list)
    problems: list[ArgProblem] = field(default_factory=list)


def _looks_like_value(text: str) -> bool:
    """argparse/clap take an argument as a value unless it looks like an option."""
    return not text.startswith("-") or text == "-" or bool(_NEGATIVE_NUMBER.match(text)) or " " in text


def _fork_option(spelling: str, takes_value: bool) -> Option:
    return Option(key=spelling, dest=spelling.lstrip("-").replace("-", "_"), option_strings=(spelling,),
                  negative=(), kind="store" if takes_value else "store_true", takes_value=takes_value,
                  nargs=None if takes_value else 0, type=None, choices=None)


class _Resolver:
    def __init__(self, table: OptionTable, extra_known: Mapping[str, bool]) -> None:
        self.table = table
        self.spellings: dict[str, Option] = {s: table.options[k] for s, k in table.index.items()}
        for spelling, takes_value in extra_known.items():
            self.spellings.setdefault(spelling, _fork_option(spelling, takes_value))

    def exact(self, text: str) -> Option | None:
        return self.spellings.get(text)

    def resolve(self, text: str) -> tuple[str, Option, str | None]:
        """(spelling, option, attached value) as argparse's _parse_optional finds them; ValueError if none."""
        if text in self.spellings:
            return text, self.spellings[text], None
        if "=" in text:
            name, value = text.split("=", 1)
            if name in self.spellings:
                return name, self.spellings[name], value
        matches: list[tuple[str, str | None]] = []
        if text.startswith("--"):
            if self.table.allow_abbrev:
                prefix, _, value = text.partition("=")
                attached = value if "=" in text else None
                matches = [(s, attached) for s in self.spellings if s.startswith(prefix)]
        elif self.table.backend == "vllm":
            short, rest = text[:2], text[2:]
            for s in self.spellings:
                if s == short:
                    matches.append((s, rest))
                elif s.startswith(text):
                    matches.append((s, None))
        if len(matches) > 1:
            raise ValueError(f"is ambiguous: {self.table_name} reads it as a prefix of "
                             f"{', '.join(sorted(s for s, _ in matches))}; write the option in full")
        if len(matches) == 1:
            spelling, value = matches[0]
            return spelling, self.spellings[spelling], value
        if self.table.backend == "tgi" and len(text) > 2 and text[1] != "-" and text[:2] in self.spellings:
            return text[:2], self.spellings[text[:2]], text[2:]  # clap: `-p8080`
        raise ValueError("unknown")

    @property
    def table_name(self) -> str:
        return {"vllm": "vLLM", "tgi": "TGI", "ovms": "OVMS"}.get(self.table.backend, self.table.backend) + \
            f" {self.table.version}"


def _preprocess(table: OptionTable, args: Sequence[str]) -> list[tuple[str, str, bool]]:
    """vLLM's FlexibleArgumentParser rewriting: (argument as the parser sees it, as written, dotted)."""
    out: list[tuple[str, str, bool]] = []
    optimization = "--optimization-level" in table.index
    for i, arg in enumerate(args):
        if not table.flexible:
            out.append((arg, arg, False))
        elif arg.startswith("--"):
            name, eq, value = arg.partition("=")
            head, dot, tail = name.partition(".") if table.dotted_keys else (name, "", "")
            name = head.replace("_", "-") + dot + tail
            out.append((name + eq + value, arg, bool(dot)))
        elif optimization and arg.startswith("-O") and arg != "-O":
            level = arg[3:] if arg[2:3] == "=" else arg[2:]
            out.append((f"--optimization-level={level}", arg, False))
        elif optimization and arg == "-O" and i + 1 < len(args) and args[i + 1] in ("0", "1", "2", "3"):
            out.append(("--optimization-level", arg, False))
        else:
            out.append((arg, arg, False))
    return out


def read_args(table: OptionTable, args: Sequence[str], extra_known: Mapping[str, bool] | None = None) -> ReadArgs:
    """Every option of `args` resolved through `table` (plus a fork's own flags), and what its parser refuses."""
    resolver = _Resolver(table, extra_known or {})
    result = ReadArgs()
    seen: dict[str, str] = {}
    items = _preprocess(table, args)
    i = 0
    while i < len(items):
        text, written, dotted = items[i]
        i += 1
        if text == "--" or _looks_like_value(text):
            result.problems.append(ArgProblem(written, f"{written!r} is a value with no option before it (the model "
                                              "is the program's positional argument; give each value after its option)"))
            continue
        name = text.split("=", 1)[0] if dotted else text
        if dotted:
            base = name.split(".", 1)[0]
            attached = text.split("=", 1)[1] if "=" in text else None
            try:
                spelling, option, _ = resolver.resolve(base)
            except ValueError as error:
                result.problems.append(_unknown(resolver, written, str(error)))
                if attached is None and i < len(items) and _looks_like_value(items[i][0]):
                    i += 1
                continue
            joined = attached is not None
            if attached is None and i < len(items):
                attached = items[i][1]
                i += 1
            result.options.append(GivenOption(written, option, spelling, attached, dotted=True, attached=joined))
            continue
        try:
            spelling, option, attached = resolver.resolve(text)
        except ValueError as error:
            result.problems.append(_unknown(resolver, written, str(error)))
            while i < len(items) and _looks_like_value(items[i][0]):
                i += 1  # its values: the parser reports them with it ("unrecognized arguments: --x 4")
            continue
        value: str | None = attached
        joined = attached is not None
        if option.takes_value:
            if value is None:
                optional = option.nargs in ("?", "*")
                if i < len(items) and _looks_like_value(items[i][0]):
                    value = items[i][1]
                    i += 1
                    while option.nargs in ("+", "*") and i < len(items) and _looks_like_value(items[i][0]):
                        value += " " + items[i][1]
                        i += 1
                elif not optional:
                    result.problems.append(ArgProblem(written, f"{written} needs a value ({spelling} takes "
                                                      f"{_describe_type(option)})"))
                    continue
        elif value is not None:
            if not (table.backend == "ovms" and value in ("true", "false")):
                result.problems.append(ArgProblem(written, f"{written} gives a value to a flag of {resolver.table_name} ({spelling} takes no "
                                                  f"value; write {spelling} alone"
                                                  + (f" or {option.negative[0]}" if option.negative else "") + ")"))
                continue
        given = GivenOption(written, option, spelling, value, attached=joined)
        problem = value_problem(given)
        if problem:
            given = GivenOption(written, option, spelling, value, refused=True, attached=joined)
            result.problems.append(ArgProblem(given.shown, problem))
        if table.repeatable is not None and option.key in seen and option.key not in table.repeatable:
            result.problems.append(ArgProblem(written, f"{spelling} is given twice; {resolver.table_name}'s launcher "
                                              f"refuses a repeated option (give it once; first as {seen[option.key]})"))
        seen.setdefault(option.key, written)
        result.options.append(given)
    return result


def _unknown(resolver: _Resolver, written: str, reason: str) -> ArgProblem:
    if reason != "unknown":
        return ArgProblem(written, f"{written.split('=', 1)[0]} {reason}")
    table = resolver.table
    name = written.split("=", 1)[0]
    hint = ""
    if table.backend == "vllm":
        hint = "; long options may use - or _, or an unambiguous prefix"
    close = sorted(s for s in table.long_options if _similar(name, s))[:3]
    suggestion = f"; did you mean {', '.join(close)}?" if close else ""
    return ArgProblem(written, f"{name} is not an option of {resolver.table_name} (its parser refuses it{hint})"
                      f"{suggestion}")


def _similar(written: str, option: str) -> bool:
    a = written.lstrip("-").replace("_", "-")
    b = option.lstrip("-").replace("_", "-")
    return bool(a) and (a in b or b in a) and abs(len(a) - len(b)) <= 8


_INT_TYPES = ("int", "optional[int]", "u16", "u32", "u64", "usize", "Option<usize>", "Option<u32>", "Option<u64>",
              "Option<u16>", "uint32_t", "uint64_t", "size_t", "i32", "i64", "Option<i32>", "Option<i64>")
_FLOAT_TYPES = ("float", "optional[float]", "f32", "f64", "Option<f32>", "Option<f64>")


def _describe_type(option: Option) -> str:
    if option.choices:
        return "one of " + ", ".join(option.choices)
    kind = option.type or "a value"
    if kind in _INT_TYPES:
        return "a whole number" + (" (0 or more)" if kind.startswith(("u", "Option<u", "size")) else "")
    if kind in _FLOAT_TYPES:
        return "a number"
    if "human_readable_int" in kind:
        return "a whole number, optionally with k/m/g (e.g. 8192, 8k)"
    if kind in ("Option<bool>", "bool"):
        return "true or false"
    return f"a value ({kind})"


def value_problem(given: GivenOption) -> str | None:
    """Why the parser refuses this option's value (type or choices); None when it accepts it."""
    option, value = given.option, given.value
    if value is None or given.dotted or option.kind in ("append",) and option.type in (None, "str"):
        return None
    kind = option.type or ""
    optional = kind.startswith(("optional[", "Option<"))
    if optional and value in ("None", ""):
        return None
    if option.choices:
        if value not in option.choices:
            return f"{given.spelling} {value!r} is not allowed; allowed: {', '.join(option.choices)}"
        return None
    if kind in _INT_TYPES:
        if value in _BOOL_WORDS:
            return f"{given.spelling} takes a whole number, not the boolean {value!r}"
        unsigned = kind.startswith(("u", "Option<u", "size"))
        if not re.fullmatch(r"\d+" if unsigned else r"-?\d+", value):
            return f"{given.spelling} {value!r} is not {_describe_type(option)}"
    elif kind in _FLOAT_TYPES:
        if value in _BOOL_WORDS:
            return f"{given.spelling} takes a number, not the boolean {value!r}"
        try:
            float(value)
        except ValueError:
            return f"{given.spelling} {value!r} is not a number"
    elif "human_readable_int" in kind and not (kind.endswith("_or_auto") and value in ("auto", "-1")):
        if not _HUMAN_INT.fullmatch(value):
            return f"{given.spelling} {value!r} is not {_describe_type(option)}"
    elif kind == "Option<bool>" and value not in ("true", "false"):
        return f"{given.spelling} takes true or false, not {value!r}"
    return None
