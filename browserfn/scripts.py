"""What an uploaded script is: its `run` signature as Notte parameters, and whether variables fit it."""

from __future__ import annotations

import ast
import functools
from typing import Any

from browserfn.errors import InvalidScript
from browserfn.models import Parameter

#: Annotations we check values against; anything else is accepted as it comes.
_SIMPLE_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


def decode_script(raw: bytes, max_bytes: int) -> str:
    """The script's text, or InvalidScript saying why it cannot be one."""
    if len(raw) > max_bytes:
        raise InvalidScript(f"script is {len(raw)} bytes, over the limit of {max_bytes} bytes")
    if not raw.strip():
        raise InvalidScript("script is empty: Python script must contain a 'run' function")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidScript(f"script is not valid UTF-8 (byte {exc.start}: {exc.reason})") from exc


def parse_parameters(code: str, filename: str = "function.py") -> tuple[Parameter, ...]:
    """The parameters of the script's top-level `run`, in Notte's ParameterInfo form."""
    try:
        tree = ast.parse(code, filename=filename)
    except SyntaxError as exc:
        if exc.lineno is None:  # not about a place in the code, e.g. a NUL byte
            raise InvalidScript(f"script cannot be parsed: {exc.msg}") from exc
        raise InvalidScript(f"script has a syntax error at line {exc.lineno}: {exc.msg}") from exc
    except ValueError as exc:  # e.g. a NUL byte in the source
        raise InvalidScript(f"script cannot be parsed: {exc}") from exc
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "run":
            return _parameters_of(node.args)
    raise InvalidScript("Python script must contain a 'run' function (a top-level def run(...): ...)")


def _parameters_of(args: ast.arguments) -> tuple[Parameter, ...]:
    positional = [*args.posonlyargs, *args.args]
    # Defaults align with the last positional parameters.
    pos_defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = [
        *zip(positional, pos_defaults, strict=True),
        *zip(args.kwonlyargs, args.kw_defaults, strict=True),
    ]
    return tuple(
        Parameter(
            name=arg.arg,
            type=ast.unparse(arg.annotation) if arg.annotation is not None else None,
            default=ast.unparse(default) if default is not None else None,
        )
        for arg, default in pairs
    )


@functools.lru_cache(maxsize=64)
def takes_any_keyword(code: str) -> bool:
    """Whether the script's `run` has a `**kwargs` catch-all (then any variable name fits).
    Asked before every run: a script is parsed once per server, not once per run."""
    if "**" not in code:  # the common case, without parsing
        return False
    for node in ast.parse(code).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "run":
            return node.args.kwarg is not None
    return False


def check_variables(
    parameters: tuple[Parameter, ...], variables: dict[str, Any], any_keyword: bool = False
) -> str | None:
    """None when `run(**variables)` fits the signature, else a message that says exactly what does not.
    `any_keyword`: `run` takes `**kwargs`, so names beyond its parameters are welcome."""
    names = [p.name for p in parameters]
    missing = [p.name for p in parameters if p.required and p.name not in variables]
    if missing:
        return f"Missing required parameters for run function: {missing}"
    unexpected = [] if any_keyword else [name for name in variables if name not in names]
    if unexpected:
        return f"Unexpected variable names for run function: {unexpected} (expected variable names: {names})"
    wrong = [
        f"{p.name}: expected {p.type}, got {_json_type(variables[p.name])} {_short(variables[p.name])}"
        for p in parameters
        if p.name in variables and not _fits(p, variables[p.name])
    ]
    if wrong:
        return "Variables do not fit the run function's annotations: " + "; ".join(wrong)
    return None


def _fits(parameter: Parameter, value: Any) -> bool:
    annotation = (parameter.type or "").replace(" ", "")
    optional = annotation.endswith("|None") or annotation.startswith(("Optional[", "None|"))
    base = annotation.removesuffix("|None").removeprefix("None|")
    if base.startswith("Optional[") and base.endswith("]"):
        base = base[len("Optional[") : -1]
    accepted = _SIMPLE_TYPES.get(base.split("[", 1)[0])  # list[str] is checked as a list
    if accepted is None:
        return True
    if value is None:
        return optional or parameter.default == "None"
    if isinstance(value, bool) and bool not in accepted:
        return False  # JSON true is not an int
    return isinstance(value, accepted)


def _json_type(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
