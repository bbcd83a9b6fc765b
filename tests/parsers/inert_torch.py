"""An inert stand-in for torch (and triton), imported before vLLM in the parser subprocess.

Why: PyPI's only Linux torch build is a CUDA one (torch 2.14.0: a 555 MB wheel, 2 min 46 s to
install here) that cannot even be imported without ~5 GB of nvidia-* wheels (measured: a venv
with them is 6.6 GB). The argument parser is vLLM's own Python code; torch only appears in type
hints, decorators and import-time op registration. Every attribute of this module is an inert
class: callable, subscriptable, iterable (empty), usable as a decorator (it returns the function).

Checked once against real torch 2.15.0+cu132 (vLLM 0.33.0): the same 283 option strings with the
same defaults and choices, except `--lora-dtype`, whose choices are torch dtypes.
`torch.library.infer_schema` returns a fixed schema string and the runner runs with -O so vLLM's
IR op assertions about that schema are skipped; neither touches argument parsing.
"""

import importlib.abc, importlib.machinery, sys, types

SHIMMED = ("torch", "triton")
VERSIONS = {"torch": "2.14.0", "triton": "3.8.0"}  # what vLLM checks with is_torch_equal_or_newer

class _InertMeta(type):
    pass

def _binop(self, *a): return self
for _n in ('add','sub','mul','truediv','floordiv','mod','pow','and','xor','matmul','lshift','rshift'):
    setattr(_InertMeta, f'__{_n}__', _binop); setattr(_InertMeta, f'__r{_n}__', _binop)
for _n in ('neg','pos','abs','invert'):
    setattr(_InertMeta, f'__{_n}__', _binop)

class _InertMeta2(_InertMeta):
    def __getattr__(cls, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _inert(f"{cls.__qualname__}.{name}")
    def __call__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and not isinstance(args[0], _InertMeta):
            return args[0]
        return _inert(f"{cls.__qualname__}()")
    def __getitem__(cls, item): return _inert(f"{cls.__qualname__}[]")
    def __iter__(cls): return iter(())
    def __len__(cls): return 0
    def __bool__(cls): return False
    def __or__(cls, o): return cls
    def __ror__(cls, o): return cls
    def __repr__(cls): return f"<inert {cls.__qualname__}>"
    def __str__(cls): return ""
    def __int__(cls): return 0
    def __float__(cls): return 0.0
    def __index__(cls): return 0
    def __enter__(cls): return cls
    def __exit__(cls, *a): return False
    def __contains__(cls, x): return False
    def __lt__(cls, o): return False
    def __gt__(cls, o): return False
    def __le__(cls, o): return False
    def __ge__(cls, o): return False
    def __eq__(cls, o): return cls is o or isinstance(o, _InertMeta)
    def __ne__(cls, o): return not (cls is o or isinstance(o, _InertMeta))
    __hash__ = type.__hash__

def _inert(name):
    return _InertMeta2(name.rsplit(".", 1)[-1], (), {"__qualname__": name, "__module__": "inert"})

class _ShimModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = _inert(f"{self.__name__}.{name}")
        setattr(self, name, value)
        return value

class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in SHIMMED:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None
    def create_module(self, spec):
        m = _ShimModule(spec.name)
        m.__path__ = []
        top = spec.name.split(".")[0]
        if spec.name == top:
            m.__version__ = VERSIONS[top]
        return m
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, _Finder())

def _install_overrides():
    import torch.library as _lib  # the shim module
    _lib.infer_schema = lambda *a, **k: "(Tensor x) -> Tensor"
_install_overrides()
