"""Notte's restricted mode, on RestrictedPython: what a restricted script may import, call and
touch, checked at upload (`violations`) and enforced at run time (`compile_script` + `script_globals`).

It is a policy, not the security boundary (RestrictedPython says so itself): every run, restricted
or not, also runs under OS isolation (see isolation.py). Imports: stdlib and RestrictedPython only,
so the run's child can load it without loading the server.
"""

from __future__ import annotations

import ast
import builtins
import operator
from collections.abc import Callable
from typing import Any

from RestrictedPython import compile_restricted_exec, safe_globals
from RestrictedPython.Eval import default_guarded_getiter
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer

#: Notte's `ALLOWED_IMPORTS` (contract section e): a module is allowed if its name, or a
#: `name.` prefix of it, is listed. `os` is not.
ALLOWED_IMPORTS: frozenset[str] = frozenset(
    {
        # notte ecosystem
        "notte",
        "notte_browser",
        "notte_sdk",
        "notte_agent",
        "notte_core",
        # third party
        "pydantic",
        "loguru",
        "requests",
        "asyncio",
        "playwright",
        "gspread",
        "google",
        "litellm",
        # standard library
        "types",
        "json",
        "datetime",
        "time",
        "math",
        "random",
        "uuid",
        "re",
        "urllib.parse",
        "base64",
        "hashlib",
        "hmac",
        "secrets",
        "string",
        "collections",
        "itertools",
        "functools",
        "operator",
        "copy",
        "decimal",
        "fractions",
        "statistics",
        "enum",
        "dataclasses",
        "typing",
        "typing_extensions",
        "calendar",
        "tempfile",
    }
)
FORBIDDEN_CALLS: frozenset[str] = frozenset(
    {
        "open",
        "input",
        "__import__",
        "exec",
        "eval",
        "compile",
        "globals",
        "locals",
        "vars",
        "dir",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "id",
        "memoryview",
    }
)
#: Statement kinds Notte forbids on top of RestrictedPython's own refusals.
FORBIDDEN_NODES: tuple[type[ast.AST], ...] = (ast.Global, ast.Nonlocal, ast.TryStar, ast.Lambda, ast.Delete)
EXTRA_BUILTINS: tuple[str, ...] = tuple(
    [
        "len",
        "str",
        "int",
        "float",
        "bool",
        "list",
        "dict",
        "tuple",
        "set",
        "min",
        "max",
        "sum",
        "abs",
        "round",
        "sorted",
        "enumerate",
        "zip",
        "range",
        "print",
    ]
)


def import_allowed(name: str) -> bool:
    return any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED_IMPORTS)


class NottePolicy(RestrictingNodeTransformer):
    """RestrictedPython's transformer plus Notte's ScriptValidator rules."""

    def _refuse(self, node: ast.AST, rule: str) -> None:
        self.error(node, rule)

    def visit_Import(self, node: ast.Import) -> Any:
        for alias in node.names:
            if not import_allowed(alias.name):
                self._refuse(node, f"Import of '{alias.name}' is not allowed (allowed imports rule)")
        return super().visit_Import(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> Any:
        module = node.module or ""
        if node.level:
            self._refuse(node, "Relative imports are not allowed (allowed imports rule)")
        elif module == "__future__":
            if any(alias.name != "annotations" for alias in node.names):
                self._refuse(node, "Only 'from __future__ import annotations' is allowed (allowed imports rule)")
            return node  # the compiler handles it; RestrictedPython would refuse its "_" name
        elif not import_allowed(module):
            self._refuse(node, f"Import from '{module}' is not allowed (allowed imports rule)")
        return super().visit_ImportFrom(node)

    def visit_Call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            self._refuse(node, f"Forbidden function call: '{node.func.id}' (forbidden calls rule)")
        return super().visit_Call(node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if node.attr == "__name__" and isinstance(node.ctx, ast.Load):  # Notte allows reading it
            node.value = self.visit(node.value)
            call = ast.Call(ast.Name("_getattr_", ast.Load()), [node.value, ast.Constant("__name__")], [])
            return ast.fix_missing_locations(ast.copy_location(call, node))
        return super().visit_Attribute(node)

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id == "__name__" and isinstance(node.ctx, ast.Load):  # `if __name__ == "__main__":`, as Notte
            return node
        return super().visit_Name(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        return self.node_contents_visit(node)  # pydantic and dataclass fields

    def generic_visit(self, node: ast.AST) -> Any:
        if isinstance(node, FORBIDDEN_NODES):
            self._refuse(node, f"Forbidden AST node in Notte script: {type(node).__name__} (forbidden nodes rule)")
            return node
        return super().generic_visit(node)

    # RestrictedPython has its own visit_* for these: Notte forbids them outright.
    def visit_Global(self, node: ast.Global) -> Any:
        return self.generic_visit(node)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> Any:
        return self.generic_visit(node)

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        return self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> Any:
        return self.generic_visit(node)


def compile_script(code: str, filename: str) -> tuple[Any, list[str]]:
    """(code object or None, violations as 'Line N: what (rule)' texts)."""
    result = compile_restricted_exec(code, filename=filename, policy=NottePolicy)
    errors = [str(e) for e in result.errors]
    return (result.code if not errors else None), errors


def violations(code: str, filename: str = "function.py") -> list[str]:
    return compile_script(code, filename)[1]


def _guarded_getattr(obj: Any, name: str, *default: Any) -> Any:
    if name.startswith("_") and name != "__name__":
        raise AttributeError(f"Access to private attribute '{name}' is not allowed")
    return getattr(obj, name, *default)


def _safe_import(name: str, globals_: Any = None, locals_: Any = None, fromlist: Any = (), level: int = 0) -> Any:
    if level or not (import_allowed(name) or name == "__future__"):
        raise ImportError(f"Import of '{name}' is not allowed")
    return builtins.__import__(name, globals_, locals_, fromlist, level)


class _StdoutPrint:
    """RestrictedPython routes `print(...)` through `_print_`; ours writes to sys.stdout (the log)."""

    def __init__(self, _getattr_: Any = None) -> None:
        pass

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        print(*objects, **kwargs)

    def __call__(self) -> str:
        return ""


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


def script_globals(module_name: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The globals a restricted script runs with: RestrictedPython's safe set plus Notte's
    builtins, guards and the allowlisted import."""
    safe_builtins = dict(safe_globals["__builtins__"])
    for name in EXTRA_BUILTINS:
        safe_builtins[name] = getattr(builtins, name)
    safe_builtins["__import__"] = _safe_import
    return {
        "__builtins__": safe_builtins,
        "__name__": module_name,
        "__metaclass__": type,
        "_getattr_": _guarded_getattr,
        "_getitem_": operator.getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": lambda obj: obj,
        "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
        "_print_": _StdoutPrint,
        "_apply_": lambda f, *a, **kw: f(*a, **kw),
        **extra,
    }
