"""Which options the real `vllm serve` parser sets for each argv; run inside a .venv-vllm-* venv.

stdin: JSON list of {"id": str, "argv": [str, ...]} (options only: the model positional is added here).
argv[1]: where to write JSON {id: {"error": str | null, "dests": [dest, ...]}}: the argparse dests the
argv set (every dest's default is replaced by a sentinel first, so a value equal to the default counts).
tests/test_flags.py compares this with kserve_intel/rules/flags.py's reading of the same argv.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import parse_cmdlines  # noqa: E402  (stands torch in, imports vLLM, builds the parser as the other tests do)

_UNSET = object()


def main():
    cases = json.load(sys.stdin)
    parser = parse_cmdlines.parser(True)
    dests = {a.dest for a in parser._actions if a.dest not in ("help", "model_tag")}
    parser.set_defaults(**{d: _UNSET for d in dests})
    results = {}
    for case in cases:
        try:
            ns = parser.parse_args(["some/model", *case["argv"]])
            results[case["id"]] = {"error": None,
                                   "dests": sorted(d for d in dests if getattr(ns, d, _UNSET) is not _UNSET)}
        except (parse_cmdlines.ParseError, SystemExit, ValueError) as exc:
            results[case["id"]] = {"error": str(exc) or "exit", "dests": []}
    json.dump(results, open(sys.argv[1], "w"))


if __name__ == "__main__":
    main()
