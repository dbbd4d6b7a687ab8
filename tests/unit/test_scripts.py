"""Script parsing and variable checks, without a server."""

from __future__ import annotations

import pytest

from browserfn.errors import InvalidScript
from browserfn.models import Parameter
from browserfn.scripts import check_variables, parse_parameters, takes_any_keyword


def test_parameters_are_notte_parameter_info_in_order() -> None:
    code = "def run(name: str, n: int = 2, *args, flag: bool = False, **extra):\n    pass\n"
    assert parse_parameters(code) == (
        Parameter("name", "str", None),
        Parameter("n", "int", "2"),
        Parameter("flag", "bool", "False"),
    )


def test_a_run_with_kwargs_takes_any_variable_name() -> None:
    code = "def run(url: str, **options):\n    return options\n"
    params = parse_parameters(code)
    assert takes_any_keyword(code) is True
    assert check_variables(params, {"url": "u", "depth": 2}, any_keyword=True) is None
    missing = check_variables(params, {"depth": 2}, any_keyword=True)
    assert missing == "Missing required parameters for run function: ['url']"
    assert takes_any_keyword("def run(url):\n    return '**'\n") is False


def test_unexpected_and_mistyped_variables_are_named() -> None:
    params = parse_parameters("def run(name: str, n: int = 2, ratio: float = 1.0):\n    pass\n")
    assert check_variables(params, {"name": "a", "nope": 1}) == (
        "Unexpected variable names for run function: ['nope'] (expected variable names: ['name', 'n', 'ratio'])"
    )
    assert check_variables(params, {"name": "a", "n": True, "ratio": 3}) == (
        "Variables do not fit the run function's annotations: n: expected int, got boolean True"
    )


def test_a_script_without_run_is_refused_saying_why() -> None:
    with pytest.raises(InvalidScript, match=r"^Python script must contain a 'run' function"):
        parse_parameters("def main():\n    pass\n")
