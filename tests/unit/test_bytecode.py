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


async def test_the_cache_keeps_the_most_recently_run_scripts_within_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    scripts = [SCRIPT + f"# {i}\n" for i in range(3)]
    one = len(scripts[0]) + len(bytecode.marshal_script(scripts[0], False) or "")
    monkeypatch.setattr(bytecode, "CACHE_BYTES", 2 * one)  # room for two of them
    for script in scripts:
        await bytecode.marshalled(script, False)
    assert list(bytecode._kept.codes) == [(scripts[1], False), (scripts[2], False)]
    await bytecode.marshalled(scripts[1], False)  # run again: the most recent now
    await bytecode.marshalled(scripts[0], False)
    assert list(bytecode._kept.codes) == [(scripts[1], False), (scripts[0], False)]
