"""Notte's restricted mode: refused at upload with line and rule, enforced again at run time."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap

import httpx
import pytest

from tests.live_server import LiveServer
from tests.security.helpers import deploy, run

NOTTE_STYLE = """
from __future__ import annotations
import json
from loguru import logger
from pydantic import BaseModel
from notte_sdk import NotteClient

class Page(BaseModel):
    url: str
    tries: int = 1

def describe(pages: list[Page]) -> dict:
    total = 0
    for i, page in enumerate(pages):
        total += page.tries * (i + 1)
    first, *rest = [p.url for p in pages]
    return {"first": first, "rest": rest, "total": total}

def run(url: str = "https://example.com", n: int = 2):
    client = NotteClient(api_key="not-used")
    logger.info("visiting {}", url)
    print(f"client ready: {isinstance(client, NotteClient)}")
    pages = [Page(url=f"{url}/{i}", tries=i) for i in range(n)]
    try:
        raise ValueError("handled")
    except ValueError as exc:
        logger.warning("caught {}", exc)
    return describe(pages) | {"json": json.dumps({"k": 1})}
"""


@pytest.fixture
def api(server: LiveServer) -> httpx.Client:
    return server.client(timeout=180)


def upload(api: httpx.Client, code: str, restricted: bool = True) -> httpx.Response:
    files = {"file": ("fn.py", textwrap.dedent(code).encode(), "text/x-python")}
    return api.post("/functions/", files=files, params={"restricted": str(restricted).lower()})


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import os\ndef run():\n    return 1\n", "Line 1: Import of 'os' is not allowed (allowed imports rule)"),
        (
            "def run():\n    return open('/etc/passwd').read()\n",
            "Line 2: Forbidden function call: 'open' (forbidden calls rule)",
        ),
        (
            "def run(x=1):\n    f = lambda: x\n    return f()\n",
            "Line 2: Forbidden AST node in Notte script: Lambda (forbidden nodes rule)",
        ),
        (
            "def run():\n    global g\n    return 1\n",
            "Line 2: Forbidden AST node in Notte script: Global (forbidden nodes rule)",
        ),
        (
            "def run(x=1):\n    return x.__class__\n",
            'Line 2: "__class__" is an invalid attribute name because it starts with "_".',
        ),
        (
            "from . import x\ndef run():\n    return 1\n",
            "Line 1: Relative imports are not allowed (allowed imports rule)",
        ),
    ],
)
def test_violation_is_a_422_naming_line_and_rule(api: httpx.Client, code: str, expected: str) -> None:
    response = upload(api, code)
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    assert body["message"] == (
        "script refused by restricted mode (upload with restricted=false to run plain Python): " + expected
    )


def test_update_with_violation_is_refused_too(api: httpx.Client) -> None:
    function_id = deploy(api, "def run():\n    return 1\n", restricted=True)
    files = {"file": ("fn.py", b"import subprocess\ndef run():\n    return 1\n", "text/x-python")}
    response = api.post(f"/functions/{function_id}", files=files)
    assert response.status_code == 422
    assert "Line 1: Import of 'subprocess' is not allowed" in response.json()["message"]


def test_a_main_block_reading_name_is_allowed_and_skipped_on_the_server(api: httpx.Client) -> None:
    """Notte's validator lets a script read `__name__`: the docs' scripts end with a local test
    block. On the server `run` is called, and the block (the script is not `__main__`) is not."""
    code = (
        "def run(x: int = 1):\n    print('run with', x)\n    return x * 2\n\n"
        "if __name__ == '__main__':\n    print('main block ran')\n    run(x=100)\n"
    )
    record = run(api, deploy(api, code, restricted=True), x=4)
    assert record["state"] == "succeeded", record
    assert json.loads(record["result"]) == 8
    logged = "\n".join(record["logs"])
    assert "run with 4" in logged and "main block ran" not in logged and "run with 100" not in logged


def test_a_notte_style_script_runs_restricted(api: httpx.Client) -> None:
    function_id = deploy(api, NOTTE_STYLE, restricted=True)
    record = run(api, function_id, n=3)
    assert record["state"] == "succeeded", record
    assert json.loads(record["result"]) == {
        "first": "https://example.com/0",
        "rest": ["https://example.com/1", "https://example.com/2"],
        "total": 0 * 1 + 1 * 2 + 2 * 3,
        "json": '{"k": 1}',
    }
    script_lines = [line.split(" | ", 3)[-1] for line in record["logs"] if " | user_script | " in line]
    said = [text.rsplit(" - ", 1)[-1] for text in script_lines]
    # (notte_sdk sets loguru's level on import, so the INFO line is filtered out by the SDK itself)
    assert said[-2:] == ["client ready: True", "caught handled"], record["logs"]


def test_restricted_false_runs_plain_python(api: httpx.Client) -> None:
    code = "import os\ndef run():\n    return os.getenv('NOTTE_API_URL') is not None\n"
    assert upload(api, code).status_code == 422
    function_id = deploy(api, code, restricted=False)
    record = run(api, function_id)
    assert (record["state"], record["result"]) == ("succeeded", "true")


def _supervise(code: str, restricted: bool) -> list[dict[str, object]]:
    """Run `code` in a process of a real fork server, with no API in front of it."""
    from browserfn.sandbox.process import ForkServer

    async def run_it() -> list[dict[str, object]]:
        forkserver = ForkServer(())
        await forkserver.start()
        try:
            process = await forkserver.fork()
            env = {"PATH": "/usr/bin", "HOME": process.workdir}
            await process.start({"code": code, "variables": {}, "env": env, "restricted": restricted})
            messages = [message async for batch in process.batches() for message in batch]
            await process.wait()
            return messages
        finally:
            await forkserver.close()

    return asyncio.run(run_it())


def test_run_time_enforces_the_policy_on_code_that_skipped_upload_checks() -> None:
    # Code stored before validation existed (or written to the store directly) still runs restricted.
    messages = _supervise("import subprocess\ndef run():\n    return 1\n", restricted=True)
    results = [m for m in messages if m["type"] == "result"]
    assert results == [
        {
            "type": "result",
            "ok": False,
            "error": results[0]["error"],
        }
    ]
    error = str(results[0]["error"])
    assert "script refused by restricted mode" in error and "Import of 'subprocess' is not allowed" in error


def test_run_time_guards_block_private_attributes_and_unlisted_imports() -> None:
    # RestrictedPython rewrites attribute access into _getattr_, which refuses private names even
    # when reached dynamically; the import hook refuses modules off the allowlist.
    code = "import json\ndef run():\n    return json.loads('[1]')\n"
    messages = _supervise(code, restricted=True)
    assert [m for m in messages if m["type"] == "result"] == [{"type": "result", "ok": True, "value_json": "[1]"}]
    from browserfn.sandbox import policy

    guards = policy.script_globals("user_script", {})
    with pytest.raises(AttributeError, match="Access to private attribute '_exit' is not allowed"):
        guards["_getattr_"](os, "_exit")
    with pytest.raises(ImportError, match=r"^Import of 'os' is not allowed$"):
        guards["__builtins__"]["__import__"]("os")
