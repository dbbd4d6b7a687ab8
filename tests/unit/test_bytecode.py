"""Scripts compiled once in the server (browserfn/sandbox/bytecode.py): the marshalled code runs
as the source would, a script that does not compile is left to the run's process, and a script
run again is not compiled again."""

from __future__ import annotations

import pytest

from browserfn.sandbox import bytecode

SCRIPT = "def run(n):\n    return [n, n * 2]\n"


@pytest.mark.parametrize("restricted", [False, True])
def test_marshalled_code_runs_like_the_source(restricted: bool) -> None:
    marshalled = bytecode.marshal_script(SCRIPT, restricted)
    assert marshalled is not None
    code = bytecode.load(marshalled)
    assert code.co_filename == bytecode.SCRIPT_FILENAME
    namespace: dict[str, object] = {}
    exec(code, namespace)  # a restricted script's code needs the policy's globals only for guarded operations
    run = namespace["run"]
    assert callable(run) and run(3) == [3, 6]


def test_a_script_that_does_not_compile_is_left_to_the_run() -> None:
    assert bytecode.marshal_script("def run(:\n    pass\n", False) is None
    assert bytecode.marshal_script("def run():\n    return eval('1')\n", True) is None  # refused by policy
    with pytest.raises(bytecode.RestrictedModeError, match="eval"):
        bytecode.compile_script("def run():\n    return eval('1')\n", True)


async def test_a_script_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real = bytecode.compile_script

    def counting(code: str, restricted: bool) -> object:
        compiled.append(code)
        return real(code, restricted)

    monkeypatch.setattr(bytecode, "compile_script", counting)
    script = SCRIPT + "# compiled once\n"
    first = await bytecode.marshalled(script, True)
    again = await bytecode.marshalled(script, True)
    assert first is not None and again == first
    assert compiled == [script]
    await bytecode.marshalled(script, False)  # the same source, not restricted, is a different code
    assert compiled == [script, script]


async def test_the_cache_keeps_the_most_recent_scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bytecode, "CACHED_SCRIPTS", 2)
    scripts = [SCRIPT + f"# {i}\n" for i in range(3)]
    for script in scripts:
        await bytecode.marshalled(script, False)
    assert (scripts[0], False) not in bytecode._compiled
    assert {(scripts[1], False), (scripts[2], False)} <= set(bytecode._compiled)
