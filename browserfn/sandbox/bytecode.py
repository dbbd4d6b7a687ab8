"""A script compiled once, not once per run. The server compiles each script it runs (through
Notte's restricted policy when the version is restricted) and keeps the code object, marshalled,
for the next runs of it; each run's process loads it instead of compiling the source again. For
a two-line restricted script, compiling cost a run's process ~1 ms of CPU; it grows with the
script, and a script's code does not change between runs.

The server and the run processes are the same interpreter (the fork server is started with the
server's own `sys.executable`), so marshal's format, which is tied to the Python version, is
shared. For a script that does not compile, the server hands over no code: the run's process
compiles the source and reports the error as the run's result, as it always has.

What is kept: the most recently run scripts, their sources and codes (the code in base64 is ~2-3
times the source) within CACHE_BYTES.
"""

from __future__ import annotations

import asyncio
import binascii
import collections
import marshal
import types

#: The file name a script's code carries: what its tracebacks show and what linecache is keyed by.
SCRIPT_FILENAME = "function.py"
#: Bytes of sources and codes kept per server process, the most recently run scripts first.
CACHE_BYTES = 32 << 20


class RestrictedModeError(RuntimeError):
    pass


def compile_script(code: str, restricted: bool) -> types.CodeType:
    """The script's module code: plain Python, or under Notte's restricted policy. Raises
    SyntaxError, or RestrictedModeError listing what the policy refuses."""
    if not restricted:
        return compile(code, SCRIPT_FILENAME, "exec")
    from browserfn.sandbox import policy

    compiled, violations = policy.compile_script(code, SCRIPT_FILENAME)
    if compiled is None:
        raise RestrictedModeError("script refused by restricted mode:\n" + "\n".join(violations))
    module_code: types.CodeType = compiled
    return module_code


def marshal_script(code: str, restricted: bool) -> str | None:
    """The script's compiled code as marshal bytes in base64 (for a JSON job), or None if it does
    not compile."""
    try:
        compiled = compile_script(code, restricted)
    except Exception:  # the run's process will say what is wrong
        return None
    return binascii.b2a_base64(marshal.dumps(compiled), newline=False).decode("ascii")


class _Kept:
    """Marshalled codes by (source, restricted), the least recently run first, and their bytes."""

    def __init__(self) -> None:
        self.codes: collections.OrderedDict[tuple[str, bool], str | None] = collections.OrderedDict()
        self.bytes = 0

    def add(self, key: tuple[str, bool], compiled: str | None) -> None:
        if key not in self.codes:  # another run of it may have compiled it meanwhile
            self.codes[key] = compiled
            self.bytes += _size(key, compiled)
        while self.bytes > CACHE_BYTES and self.codes:
            self.bytes -= _size(*self.codes.popitem(last=False))


def _size(key: tuple[str, bool], compiled: str | None) -> int:
    return len(key[0]) + len(compiled or "")


_kept = _Kept()


async def marshalled(code: str, restricted: bool) -> str | None:
    """marshal_script's answer, worked out in a thread the first time (a large script takes a
    while to compile), then kept within CACHE_BYTES, the least recently run dropped first."""
    key = (code, restricted)
    if key in _kept.codes:
        _kept.codes.move_to_end(key)
        return _kept.codes[key]
    compiled = await asyncio.to_thread(marshal_script, code, restricted)
    _kept.add(key, compiled)
    return compiled


def load(marshalled_code: str) -> types.CodeType:
    """In the run's process: the code object a job carries."""
    code: types.CodeType = marshal.loads(binascii.a2b_base64(marshalled_code))
    return code
