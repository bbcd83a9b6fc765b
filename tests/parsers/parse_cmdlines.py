"""Parse command lines with the installed vLLM's real argument parser; run inside a .venv-vllm-* venv.

stdin: JSON list of {"id": str, "argv": [str, ...]} (argv after the entry point: for `vllm serve`
the model is the first positional; for the api_server module, `--model` is a flag).
argv[1]: where to write JSON {"version", "env_names", "results": {id: null | "error message"}}.
One process parses every case: importing vLLM takes ~25 s, parsing takes milliseconds.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import inert_torch  # noqa: E402,F401  (must precede vLLM)

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")

# vLLM before ~0.30 picks its CPU platform only when the installed distribution's version says
# "+cpu" (as vLLM's CPU builds, the Xeon images, do); the PyPI wheel is the CUDA build. Report the
# CPU build's version so platform detection picks CPU, the one platform importable here.
import importlib.metadata as _metadata  # noqa: E402

_real_version = _metadata.version


def _version(name):
    value = _real_version(name)
    return value + "+cpu" if name == "vllm" and "cpu" not in value else value


_metadata.version = _version

import vllm  # noqa: E402

try:  # vLLM >= 0.2x: the parser moved
    from vllm.entrypoints.common.cli_args import make_arg_parser
except ImportError:
    from vllm.entrypoints.openai.cli_args import make_arg_parser
try:
    from vllm.utils.argparse_utils import FlexibleArgumentParser
except ImportError:
    from vllm.utils import FlexibleArgumentParser
import vllm.envs as envs  # noqa: E402


class ParseError(Exception):
    pass


def parser(serve: bool):
    p = FlexibleArgumentParser(prog="vllm serve" if serve else "api_server")
    p = make_arg_parser(p)
    if serve and not any(a.dest == "model_tag" for a in p._actions):
        # `vllm serve` adds the positional model itself (vllm/entrypoints/cli/serve.py).
        p.add_argument("model_tag", nargs="?")
    def error(message):
        raise ParseError(message)
    p.error = error
    return p


def peft_check(case):
    """vLLM's own check of an adapter_config.json against the server's LoRA config (None: it loads).

    {"peft": {adapter_config.json}, "max_lora_rank": int, "bias_enabled": bool}: PEFTHelper.validate_legal
    is what the server runs for each --lora-modules adapter at start (vllm/lora/peft_helper.py)."""
    import dataclasses
    import types

    try:
        from vllm.lora.peft_helper import PEFTHelper
    except TypeError:
        # Before 0.3x peft_helper imports the tensorizer loader (for from_local_dir only), whose import
        # chain builds torch modules the inert torch cannot: stand it in, the check itself needs no torch.
        for name in [m for m in sys.modules if m.startswith("vllm.lora") or m.startswith("vllm.model_executor")]:
            del sys.modules[name]
        stub = types.ModuleType("vllm.model_executor.model_loader.tensorizer")
        stub.TensorizerConfig = type("TensorizerConfig", (), {})
        sys.modules[stub.__name__] = stub
        from vllm.lora.peft_helper import PEFTHelper
    try:
        from vllm.config.lora import LoRAConfig
    except ImportError:
        from vllm.config import LoRAConfig
    names = {f.name for f in dataclasses.fields(LoRAConfig)}
    kwargs = {"max_lora_rank": case["max_lora_rank"]}
    if case.get("bias_enabled") and "bias_enabled" in names:
        kwargs["bias_enabled"] = True
    try:
        PEFTHelper.from_dict(dict(case["peft"])).validate_legal(LoRAConfig(**kwargs))
        return None
    except (ValueError, TypeError) as exc:
        return str(exc) or type(exc).__name__


def main():
    cases = json.load(sys.stdin)
    parsers = {}
    results = {}
    lora_modules = {}  # id -> [[name, path, base_model_name], ...] as vLLM's LoRAParserAction read them
    peft = {}  # id -> None | vLLM's refusal of the adapter_config.json
    for case in cases:
        if "peft" in case:
            peft[case["id"]] = peft_check(case)
            continue
        serve = case.get("serve", False)
        p = parsers.get(serve) or parsers.setdefault(serve, parser(serve))
        try:
            ns = p.parse_args(case["argv"])
            if serve and not getattr(ns, "model_tag", None):
                raise ParseError("no positional model")
            results[case["id"]] = None
            if getattr(ns, "lora_modules", None):
                lora_modules[case["id"]] = [[m.name, m.path, m.base_model_name] for m in ns.lora_modules]
        except (ParseError, SystemExit) as exc:
            results[case["id"]] = str(exc) or "exit"
    json.dump({
        "version": vllm.__version__ if isinstance(vllm.__version__, str) else str(vllm.__version__),
        "env_names": sorted(envs.environment_variables),
        "results": results,
        "lora_modules": lora_modules,
        "peft": peft,
    }, open(sys.argv[1], "w"))


if __name__ == "__main__":
    main()
