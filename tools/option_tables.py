"""Dump a serving stack's command-line options as a deterministic JSON table, from its real parser.

vLLM (run inside a parser venv that tools/vllm_parser_venv.py built; `make vllm-parsers`):

    .venv-vllm-0.33.0/bin/python -O tools/option_tables.py vllm kserve_intel/catalog/data/options/vllm-0.33.0.json

The parser is the one `vllm serve` builds (tests/parsers/parse_cmdlines.py `parser(serve=True)`, the same
construction the command-line tests use, torch stood in by tests/parsers/inert_torch.py). Every option
string the parser accepts is listed (hidden `--no-*` / `--disable-*` forms included), with:

- `option_strings`: all spellings of the option, long and short (`-tp`), sorted;
- `negative`: the spellings that set a boolean option to false;
- `action`: the argparse action class; `kind`: store / store_true / store_false / store_const / append /
  append_const / count / boolean_optional / help / version / custom;
- `nargs`, `type` (a name: int, float, str, json, optional[int], human_readable_int, ...), `choices`,
  `default`, `required`, `deprecated`;
- `index`: every option string to its entry's key (the entry's first long, non-negative spelling);
- `equals`: whether `OPTION=VALUE` is accepted as one argument, per option string, *as probed through the
  real parser* (a value the type rejects still counts as accepted syntax: argparse splits at `=` first).

`spellings` records what the parser does with other spellings (underscores, unambiguous prefixes, short
options with attached values, a repeated option, ...), each probed through the real parser, with the
parser's error when it refuses one.

TGI and OVMS (from their pinned sources, a directory holding the repository at the pinned tag):

    python3 tools/option_tables.py tgi  <checkout> kserve_intel/catalog/data/options/tgi-3.3.7.json 3.3.7 <commit>
    python3 tools/option_tables.py ovms <checkout> kserve_intel/catalog/data/options/ovms-2026.3.json 2026.3 <commit>

(<checkout>: a directory holding launcher/src/main.rs, resp. src/cli_parser.cpp and src/graph_export/, at the
pinned tag; <commit>: the tag's commit, recorded in the table's `source`.)

These read clap's `#[clap(...)]` attributes of launcher/src/main.rs `struct Args`, and cxxopts'
`add_options()` blocks of src/cli_parser.cpp (+ src/graph_export/*cli_parser.cpp), statically.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMAT = 1
REPOS = {"tgi": "huggingface/text-generation-inference", "ovms": "openvinotoolkit/model_server"}


def _write(table: dict, out: str) -> None:
    text = json.dumps(table, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if out == "-":
        sys.stdout.write(text)
    else:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)


# --- vLLM -------------------------------------------------------------------------------------------

def _plain(value):
    """A JSON value for a default or choice, the same on every run."""
    import dataclasses
    import enum

    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, type):
        return value.__name__
    if callable(value):
        return f"<callable {getattr(value, '__qualname__', type(value).__name__)}>"
    return f"<{type(value).__name__} {value!s}>"


def _type_name(fn) -> str | None:
    """A readable, stable name for an argparse `type`."""
    if fn is None:
        return None
    if fn in (int, float, str, bool):
        return fn.__name__
    if fn is json.loads:
        return "json"
    if isinstance(fn, type):
        return fn.__name__
    code = getattr(fn, "__code__", None)
    closure = getattr(fn, "__closure__", None)
    if code is not None and closure:
        cells = dict(zip(code.co_freevars, (c.cell_contents for c in closure)))
        inner = cells.get("return_type")
        if inner is not None:
            name = _type_name(inner)
            return f"optional[{name}]" if "optional" in fn.__name__ else name
    name = getattr(fn, "__name__", type(fn).__name__)
    if name == "<lambda>":
        return f"lambda ({getattr(fn, '__qualname__', name)})"
    return name


_KINDS = {
    "_StoreAction": "store", "_StoreTrueAction": "store_true", "_StoreFalseAction": "store_false",
    "_StoreConstAction": "store_const", "_AppendAction": "append", "_AppendConstAction": "append_const",
    "_CountAction": "count", "_HelpAction": "help", "_VersionAction": "version",
    "BooleanOptionalAction": "boolean_optional", "EnableDisableAction": "boolean_optional",
    "_ExtendAction": "extend",
}


def _kind(action) -> str:
    import argparse

    name = type(action).__name__
    if name in _KINDS:
        return _KINDS[name]
    if isinstance(action, argparse.BooleanOptionalAction):
        return "boolean_optional"
    return "custom"


def _classify(error: str | None) -> str:
    """Accepted syntax (the value may still be wrong) or refused spelling, from the parser's answer."""
    if error is None:
        return "accepted"
    if error.startswith("value error:") or re.search(r"invalid .*value|invalid choice|must be|not a valid|Expecting|JSON|could not convert|"
                 r"could not parse|is not|should be|Invalid", error):
        return "accepted (value refused)"
    return "refused"


def vllm_table() -> dict:
    sys.path.insert(0, str(ROOT / "tests" / "parsers"))
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    import argparse
    import logging

    logging.disable(logging.WARNING)
    import parse_cmdlines  # noqa: E402  (imports the inert torch first, then vLLM)
    import vllm

    version = vllm.__version__ if isinstance(vllm.__version__, str) else str(vllm.__version__)
    parser = parse_cmdlines.parser(True)

    def parse(argv):
        try:
            parser.parse_args(["probe/model", *argv])
            return None
        except (parse_cmdlines.ParseError, SystemExit) as exc:
            return str(exc) or type(exc).__name__
        except (ValueError, TypeError) as exc:  # raised by an action or type outside argparse's handling
            return f"value error: {type(exc).__name__}: {exc}"

    deprecated = getattr(parser, "_deprecated", set())
    by_action: dict[int, list[str]] = {}
    for string, action in parser._option_string_actions.items():
        by_action.setdefault(id(action), []).append(string)
    options = {}
    for action in parser._actions:
        if not action.option_strings:
            continue
        strings = sorted(set(by_action.get(id(action), [])) | set(action.option_strings),
                         key=lambda s: (not s.startswith("--"), s))
        kind = _kind(action)
        if kind == "boolean_optional":
            negative = set(getattr(action, "negative_option_strings", ())) or {
                s for s in strings if s.startswith("--no-")}
        else:
            negative = set()
        takes_value = action.nargs != 0
        equals = {}
        for string in strings:
            if kind in ("help", "version"):
                continue
            equals[string] = _classify(parse([f"{string}=1"])) != "refused"
        primary = next((s for s in strings if s.startswith("--") and s not in negative), strings[0])
        options[primary] = {
            "dest": action.dest,
            "option_strings": strings,
            "negative": sorted(negative),
            "action": type(action).__name__,
            "kind": kind,
            "takes_value": takes_value,
            "nargs": action.nargs if action.nargs is None or isinstance(action.nargs, (int, str)) else str(action.nargs),
            "type": _type_name(action.type),
            "choices": None if action.choices is None else [_plain(c) for c in action.choices],
            "default": None if action.default is argparse.SUPPRESS else _plain(action.default),
            "default_suppressed": action.default is argparse.SUPPRESS,
            "required": bool(action.required),
            "deprecated": action in deprecated,
            "equals": equals,
        }
    positionals = [{"dest": a.dest, "nargs": a.nargs} for a in parser._actions if not a.option_strings]

    probes = {
        "underscores (--max_model_len 64)": ["--max_model_len", "64"],
        "underscores with = (--max_model_len=64)": ["--max_model_len=64"],
        "unambiguous prefix (--max-model-le 64)": ["--max-model-le", "64"],
        "unambiguous prefix (--tensor-parallel 2)": ["--tensor-parallel", "2"],
        "long option with = (--tensor-parallel-size=2)": ["--tensor-parallel-size=2"],
        "short option with = (-tp=2)": ["-tp=2"],
        "short option, value attached (-tp2)": ["-tp2"],
        "repeated option (--max-model-len 64 --max-model-len 128)": ["--max-model-len", "64", "--max-model-len", "128"],
        "boolean with = (--enforce-eager=true)": ["--enforce-eager=true"],
        "negative boolean (--no-enforce-eager)": ["--no-enforce-eager"],
        "-O3 (optimization level attached)": ["-O3"],
        "dotted JSON key (--compilation-config.mode 0)": ["--compilation-config.mode", "0"],
        "bool as a number (--tensor-parallel-size true)": ["--tensor-parallel-size", "true"],
    }
    spellings = {}
    for name, argv in probes.items():
        error = parse(argv)
        spellings[name] = {"argv": argv, "result": _classify(error), "error": error}
    return {
        "format": FORMAT,
        "stack": "vllm",
        "version": version,
        "parser": "vllm serve (vllm.entrypoints make_arg_parser on FlexibleArgumentParser, plus the model_tag "
                  "positional vllm/entrypoints/cli/serve.py adds); built by tests/parsers/parse_cmdlines.py",
        "allow_abbrev": bool(getattr(parser, "allow_abbrev", True)),
        "positionals": positionals,
        "options": dict(sorted(options.items())),
        "index": {s: primary for primary, o in sorted(options.items()) for s in o["option_strings"]},
        "spellings": spellings,
    }


# --- TGI (clap derive, launcher/src/main.rs) ---------------------------------------------------------

_CLAP_ATTR = re.compile(r"#\[(?:clap|arg)\((?P<body>(?:[^()\]]|\([^()]*\))*)\)\]", re.S)


def _split_attr(body: str) -> dict[str, str | bool]:
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        depth += ch in "([{"
        depth -= ch in ")]}"
        cur += ch
    if cur.strip():
        parts.append(cur.strip())
    out: dict[str, str | bool] = {}
    for part in parts:
        if "=" in part:
            key, value = part.split("=", 1)
            out[key.strip()] = value.strip()
        else:
            out[part] = True
    return out


def _unquote(value):
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def tgi_table(source: Path, version: str) -> dict:
    text = (source / "launcher" / "src" / "main.rs").read_text()
    start = text.index("struct Args")
    body = text[text.index("{", start) + 1:]
    depth, end = 1, 0
    for i, ch in enumerate(body):
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0:
            end = i
            break
    body = body[:end]
    options = {}
    shorts: dict[str, str] = {}
    # Each field: attributes (doc comments and #[clap(...)]) then `name: Type,`
    field = re.compile(r"((?:\s*(?:///[^\n]*|#\[[^\n]*(?:\n(?!\s*(?:pub\s+)?\w+\s*:)[^\n]*)*))*)\s*(?:pub\s+)?(\w+)\s*:\s*([^,\n]+(?:<[^>]*>)?)\s*,")
    for match in field.finditer(body):
        attrs_text, name, rust_type = match.group(1), match.group(2), match.group(3).strip()
        attrs: dict[str, str | bool] = {}
        for attr in _CLAP_ATTR.finditer(attrs_text):
            attrs.update(_split_attr(attr.group("body")))
        if not attrs:
            continue
        long_name = "--" + (_unquote(attrs["long"]) if isinstance(attrs.get("long"), str) else name.replace("_", "-"))
        strings = [long_name]
        short_conflict = None
        if "short" in attrs:
            short = "-" + (_unquote(attrs["short"]) if isinstance(attrs["short"], str) else name[0]).strip("'")
            if short in shorts:
                # Two fields derive the same short; clap's lookup finds the first declared one.
                short_conflict = f"{short} is also derived for {shorts[short]}, declared first, which takes it"
            else:
                shorts[short] = long_name
                strings.append(short)
        env = None
        if "env" in attrs:
            env = _unquote(attrs["env"]) if isinstance(attrs["env"], str) else name.upper()
        is_bool = rust_type == "bool"
        repeat = rust_type.startswith("Vec<") or rust_type.startswith("Option<Vec<")
        value_enum = "value_enum" in attrs or "arg_enum" in attrs
        options[long_name] = {
            "dest": name,
            "option_strings": sorted(strings, key=lambda s: (not s.startswith("--"), s)),
            "negative": [],
            "action": "SetTrue" if is_bool else ("Append" if repeat else "Set"),
            "kind": "store_true" if is_bool else ("append" if repeat else "store"),
            "takes_value": not is_bool,
            "nargs": 0 if is_bool else None,
            "type": rust_type,
            "value_enum": value_enum,
            "choices": None,
            "default": _unquote(attrs["default_value"]) if "default_value" in attrs else None,
            "required": not is_bool and not rust_type.startswith("Option<") and not repeat and "default_value" not in attrs,
            "deprecated": False,
            "env": env,
            "equals": {s: not is_bool for s in strings},
        }
        if short_conflict:
            options[long_name]["short_conflict"] = short_conflict
    # clap's own flags (#[clap(author, version, ...)] on struct Args adds --version).
    for long_name, short, dest in (("--help", "-h", "help"), ("--version", "-V", "version")):
        options[long_name] = {"dest": dest, "option_strings": [long_name, short], "negative": [], "action": "clap builtin",
                              "kind": dest, "takes_value": False, "nargs": 0, "type": None, "value_enum": False,
                              "choices": None, "default": None, "required": False, "deprecated": False, "env": None,
                              "equals": {long_name: False, short: False}}
    return {"format": FORMAT, "stack": "tgi", "version": version,
            "parser": "clap derive: launcher/src/main.rs struct Args (read statically)",
            "options": dict(sorted(options.items()))}


# --- OVMS (cxxopts, src/cli_parser.cpp) --------------------------------------------------------------

_CXXOPT = re.compile(r'\(\s*"(?P<names>[^"]+)"\s*,\s*(?P<help>(?:"(?:[^"\\]|\\.)*"\s*)+)(?:,\s*(?P<value>cxxopts::value<(?P<type>[^>]+(?:<[^>]*>)?)>\(\)(?P<chain>(?:->\w+\([^()]*\))*)))?\s*,?\s*(?:"(?P<metavar>[^"]*)")?\s*\)')


def _cxxopts_blocks(text: str):
    """Each `add_options(...)` chain up to its `;` (outside string literals), with a function telling,
    for a position in it, the preprocessor symbol (#ifdef X) the option is compiled under, if any."""
    for start in [m.end() for m in re.finditer(r"add_options\(", text)]:
        in_string, escape, end = False, False, len(text)
        for i in range(start, len(text)):
            ch = text[i]
            if in_string:
                if escape:
                    escape = False
                elif ch == "\\":
                    escape = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == ";":
                end = i
                break
        body = text[start:end]
        guards = [(m.start(), m.group(1)) for m in re.finditer(r"^\s*#\s*ifdef\s+(\w+)", body, re.M)]
        closes = [m.start() for m in re.finditer(r"^\s*#\s*endif", body, re.M)]

        def condition(pos, guards=guards, closes=closes):
            for (g_start, name) in guards:
                g_end = min([c for c in closes if c > g_start], default=len(body))
                if g_start < pos < g_end:
                    return name
            return None
        yield re.sub(r"^\s*#.*$", lambda m: " " * len(m.group(0)), body, flags=re.M), condition


def ovms_table(source: Path, version: str) -> dict:
    files = [source / "src" / "cli_parser.cpp", *sorted((source / "src" / "graph_export").glob("*cli_parser.cpp"))]
    options = {}
    for path in files:
        if not path.exists():
            continue
        text = path.read_text()
        for body, condition in _cxxopts_blocks(text):
            for match in _CXXOPT.finditer(body):
                names = [n.strip() for n in match.group("names").split(",")]
                long_name = "--" + max(names, key=len)
                strings = [long_name] + ["-" + n for n in names if len(n) == 1]
                cxx_type = (match.group("type") or "bool").strip()
                chain = match.group("chain") or ""
                default = re.search(r"->default_value\(\"?([^\")]*)\"?\)", chain)
                is_bool = cxx_type == "bool"
                options[long_name] = {
                    "dest": max(names, key=len),
                    "option_strings": sorted(strings, key=lambda s: (not s.startswith("--"), s)),
                    "negative": [],
                    "action": "cxxopts",
                    "kind": "store_true" if is_bool else ("append" if cxx_type.startswith("std::vector") else "store"),
                    "takes_value": not is_bool,
                    "nargs": 0 if is_bool else None,
                    "type": cxx_type,
                    "choices": None,
                    "default": default.group(1) if default else None,
                    "required": False,
                    "deprecated": False,
                    # cxxopts: `--opt=value` for every option; a bool takes `--flag` or `--flag=false`.
                    "equals": {s: True for s in strings},
                    "file": str(path.relative_to(source)),
                    "only_if_defined": condition(match.start()),
                }
    return {"format": FORMAT, "stack": "ovms", "version": version,
            "parser": "cxxopts add_options: src/cli_parser.cpp + src/graph_export/*cli_parser.cpp (read statically)",
            "options": dict(sorted(options.items()))}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("vllm", "tgi", "ovms"):
        print(__doc__)
        return 2
    if argv[0] == "vllm":
        out = argv[1] if len(argv) > 1 else "-"
        _write(vllm_table(), out)
        return 0
    if len(argv) < 3:
        print(__doc__)
        return 2
    source, out = Path(argv[1]), argv[2]
    version = argv[3] if len(argv) > 3 else out.rsplit("/", 1)[-1].split("-", 1)[-1].removesuffix(".json")
    table = tgi_table(source, version) if argv[0] == "tgi" else ovms_table(source, version)
    table["source"] = {"repo": REPOS[argv[0]], "tag": f"v{version}", "commit": argv[4] if len(argv) > 4 else None}
    _write(table, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
