"""Structured scrape and observe through the LLM provider, against a local OpenAI-compatible peer
(no model runs here): what the server sends it, how answers become Notte's `structured`, how a
wrong answer or a failing provider is reported. Observe without instructions needs no LLM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from notte_core.errors import ScrapeFailedError
from notte_core.observation import Observation
from notte_sdk import NotteClient
from pydantic import BaseModel

from browserfn.browser import llm
from browserfn.config import Settings
from browserfn.errors import InvalidInput
from tests.browser.llm_peer import API_KEY, ChatPeer
from tests.browser.site import LocalSite
from tests.live_server import LiveServer
from tests.node_client import CLIENT_MODULE, run_node


class Product(BaseModel):
    name: str
    price_eur: int


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory, peer: ChatPeer) -> Iterator[LiveServer]:
    env = {
        "BROWSERFN_LLM_PROVIDER": "openai",
        "BROWSERFN_LLM_BASE_URL": peer.base_url,
        "BROWSERFN_LLM_MODEL": "peer-model",
        "BROWSERFN_LLM_API_KEY": API_KEY,
    }
    live = LiveServer(
        tmp_path_factory.mktemp("llm"), warm_processes=0, extra_args=("--browser-pool-size", "1"), env=env
    )
    yield live.start()
    live.stop()


@pytest.fixture
def session_on(llm_server: LiveServer, site: LocalSite) -> Iterator[tuple[httpx.Client, str]]:
    """An open session on the test shop's front page."""
    with llm_server.client() as api:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/"})
        yield api, sid
        api.delete(f"/sessions/{sid}/stop")


def test_structured_scrape_through_the_sdk(llm_server: LiveServer, peer: ChatPeer, site: LocalSite) -> None:
    peer.reply('{"name": "red apples", "price_eur": 3}')
    client = NotteClient(api_key=llm_server.key, server_url=llm_server.url)
    with client.Session() as session:
        session.execute(type="goto", url=f"{site.url}/")
        product = session.scrape(instructions="the product on sale and its price", response_format=Product)
    assert product == Product(name="red apples", price_eur=3)

    sent = peer.requests[-1]
    assert sent["model"] == "peer-model" and sent["temperature"] == 0
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": Product.model_json_schema()},
    }
    system, user = sent["messages"]
    assert system["role"] == "system" and "JSON" in system["content"]
    assert "What to extract: the product on sale and its price" in user["content"]
    assert "We sell **red apples** for 3 euros." in user["content"]  # the page's Markdown
    assert json.dumps(Product.model_json_schema()) in user["content"]


def test_answers_that_do_not_fit_are_failed_extractions(
    session_on: tuple[httpx.Client, str], peer: ChatPeer, llm_server: LiveServer
) -> None:
    api, sid = session_on
    schema = Product.model_json_schema()

    def scrape(**body: Any) -> dict[str, Any]:
        response = api.post(f"/sessions/{sid}/page/scrape", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["markdown"].startswith("[Home]")
        structured: dict[str, Any] = response.json()["structured"]
        return structured

    peer.reply('{"name": "red apples", "price_eur": "three"}')
    assert scrape(response_format=schema) == {
        "success": False,
        "data": None,
        "error": "the model's answer does not match response_format: at price_eur: 'three' is not of type 'integer'",
    }
    peer.reply("Sorry, I cannot help with that.")
    assert scrape(instructions="the price") == {
        "success": False,
        "data": None,
        "error": "the model did not answer with JSON: 'Sorry, I cannot help with that.'",
    }
    peer.reply('{"fruits": ["Apples", "Pears"]}')
    assert scrape(instructions="the fruits listed") == {
        "success": True,
        "data": {"fruits": ["Apples", "Pears"]},
        "error": None,
    }
    assert peer.requests[-1]["response_format"] == {"type": "json_object"}

    peer.reply('{"name": "red apples"}')
    client = NotteClient(api_key=llm_server.key, server_url=llm_server.url)
    with pytest.raises(ScrapeFailedError, match="at \\(the answer\\): 'price_eur' is a required property"):
        client.sessions.page.scrape(sid, response_format=Product)


def test_bad_requests_and_a_failing_provider_are_clear_errors(
    session_on: tuple[httpx.Client, str], peer: ChatPeer
) -> None:
    api, sid = session_on
    bad_schema = api.post(f"/sessions/{sid}/page/scrape", json={"response_format": {"type": "nonsense"}})
    assert bad_schema.status_code == 422
    assert bad_schema.json()["message"].startswith(
        "response_format is not a valid JSON schema: 'nonsense' is not valid"
    )

    peer.fail(500, "The server had an error while processing your request.")
    failed = api.post(f"/sessions/{sid}/page/scrape", json={"instructions": "the price"})
    assert failed.status_code == 502
    assert failed.json() == {
        "status": 502,
        "message": f"the model openai/peer-model at {peer.base_url} failed: InternalServerError (500): "
        "The server had an error while processing your request.",
    }


def test_observe_lists_the_page_actions_and_the_llm_picks_for_instructions(
    session_on: tuple[httpx.Client, str], peer: ChatPeer, site: LocalSite
) -> None:
    api, sid = session_on
    api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/form"})
    calls_before = len(peer.requests)
    observed = api.post(f"/sessions/{sid}/page/observe", json={})
    assert observed.status_code == 200, observed.text
    observation = Observation.model_validate(observed.json())  # the SDK's own model
    assert len(peer.requests) == calls_before  # no LLM without instructions
    assert observation.metadata.title == "Contact" and observation.screenshot.raw.startswith(b"\xff\xd8")
    actions: list[Any] = list(observation.space.interaction_actions)
    listed = [(a.id, a.type, a.description) for a in actions]
    assert listed == [
        ("I1", "fill", "Fill the field 'Name'"),
        ("I2", "fill", "Fill the field 'Email'"),
        ("I3", "check", "Check or uncheck 'I agree'"),
        ("I4", "select_dropdown_option", "Select an option of 'color': Red, Green"),
        ("B1", "click", "Click 'Send'"),
        ("I5", "fill", "Fill the field 'q'"),
    ]

    def act(**action: Any) -> dict[str, Any]:
        answer: dict[str, Any] = api.post(f"/sessions/{sid}/page/execute", json=action).json()
        return answer

    assert act(type="fill", id="I1", value="Grace")["success"] is True  # observe's ids work in execute
    assert act(type="check", id="I3", value=True)["success"] is True
    assert act(type="click", id="B1")["success"] is True
    assert (
        act(type="evaluate_js", code="location.search")["data"]["markdown"] == "?name=Grace&email=&agree=yes&color=red"
    )

    api.post(f"/sessions/{sid}/page/execute", json={"type": "goto", "url": f"{site.url}/form"})
    peer.reply('{"ids": ["I2", "B1", "Z9"]}')
    picked = api.post(f"/sessions/{sid}/page/observe", json={"instructions": "send my email address"}).json()
    picked_actions: list[Any] = list(Observation.model_validate(picked).space.interaction_actions)
    assert [a.id for a in picked_actions] == ["I2", "B1"]
    assert "Instructions: send my email address" in peer.requests[-1]["messages"][1]["content"]
    assert "I2: Fill the field 'Email'" in peer.requests[-1]["messages"][1]["content"]


def test_the_model_a_request_names_must_be_allowed() -> None:
    assert llm.from_settings(Settings()) is None
    earlier = llm.from_settings(Settings(llm_provider="openai"))
    assert earlier is not None and earlier.default_model == "openai/gpt-4o-mini"
    layer = llm.from_settings(
        Settings(llm_model="ollama/llama3", llm_allowed_models=("openai/*", "gemini/gemini-2.0-flash"))
    )
    assert layer is not None
    assert layer.resolve(None) == layer.resolve("") == "ollama/llama3"
    assert layer.resolve("openai/gpt-4o") == "openai/gpt-4o"
    assert layer.resolve("gemini/gemini-2.0-flash") == "gemini/gemini-2.0-flash"
    assert layer.resolve("gemini/gemini-3.5-flash") == "ollama/llama3"  # what the Python client sends by default
    with pytest.raises(InvalidInput) as refused:
        layer.resolve("anthropic/claude-sonnet-4-5", "reasoning_model")
    assert str(refused.value) == (
        "reasoning_model 'anthropic/claude-sonnet-4-5' is not allowed on this server; "
        "allowed: ollama/llama3, openai/*, gemini/gemini-2.0-flash"
    )
    with pytest.raises(ValueError, match="llm_schema_format must be one of"):  # at the server's start
        llm.from_settings(Settings(llm_model="openai/local", llm_schema_format="grammar"))


def test_the_exported_script_can_carry_a_response_format_the_model_writes(
    session_on: tuple[httpx.Client, str], peer: ChatPeer
) -> None:
    api, sid = session_on
    peer.reply('{"name": "red apples", "price_eur": 3}')
    scraped = api.post(f"/sessions/{sid}/page/execute", json={"type": "scrape", "instructions": "the product"})
    assert scraped.status_code == 200 and scraped.json()["success"], scraped.text
    plain = api.get(f"/sessions/{sid}/workflow/code", params={"as_workflow": False}).json()
    assert [a.get("response_format") for a in plain["json_actions"] if a["type"] == "scrape"] == [None]

    schema = Product.model_json_schema()
    peer.reply(json.dumps(schema))
    inferred = api.get(f"/sessions/{sid}/workflow/code", params={"as_workflow": False, "infer_response_format": True})
    assert inferred.status_code == 200, inferred.text
    (scrape,) = [a for a in inferred.json()["json_actions"] if a["type"] == "scrape"]
    assert scrape["response_format"] == schema and scrape["instructions"] == "the product"
    assert f"response_format={schema!r}" in inferred.json()["python_script"]
    assert "What to extract: the product" in peer.requests[-1]["messages"][1]["content"]

    peer.reply("a schema? sorry")  # an answer that is no schema leaves the scrape as it was
    unsure = api.get(f"/sessions/{sid}/workflow/code", params={"infer_response_format": True}).json()
    assert [a.get("response_format") for a in unsure["json_actions"] if a["type"] == "scrape"] == [None]


def test_one_shot_scrape_returns_markdown_and_structured_data(
    llm_server: LiveServer, peer: ChatPeer, site: LocalSite
) -> None:
    schema = Product.model_json_schema()
    with llm_server.client() as api:
        peer.reply('{"name": "red apples", "price_eur": 3}')
        scraped = api.post(
            "/scrape", json={"url": f"{site.url}/", "instructions": "the product", "response_format": schema}
        )
        assert scraped.status_code == 200, scraped.text
        body = scraped.json()
        assert "We sell **red apples** for 3 euros." in body["markdown"]
        assert body["structured"] == {"success": True, "data": {"name": "red apples", "price_eur": 3}, "error": None}
        assert api.get(f"/sessions/{body['session_id']}").json()["status"] == "closed"  # its own session, closed

        peer.reply('{"name": "red apples"}')  # a failed extraction is success: false, not an HTTP error
        failed = api.post("/scrape", json={"url": f"{site.url}/", "response_format": schema}).json()["structured"]
        assert failed == {
            "success": False,
            "data": None,
            "error": "the model's answer does not match response_format: at (the answer): "
            "'price_eur' is a required property",
        }
        plain = api.post("/scrape", json={"url": f"{site.url}/form", "only_main_content": True})
        assert plain.status_code == 200 and plain.json()["structured"] is None
        assert plain.json()["markdown"].startswith("# Contact us")

        refused = {
            "url: String should match pattern": {"url": "file:///etc/passwd"},
            "colour: Extra inputs are not permitted": {"url": site.url, "colour": "red"},
            "proxies.literal[False]: Input should be False": {"url": site.url, "proxies": True},
            "selector '>>' is not a CSS selector": {"url": site.url, "selector": ">>"},
            "model 'anthropic/claude-3' is not allowed on this server; allowed: openai/peer-model": {
                "url": site.url,
                "instructions": "x",
                "model": "anthropic/claude-3",
            },
        }
        for message, request in refused.items():
            answer = api.post("/scrape", json=request)
            assert answer.status_code == 422 and message in answer.json()["message"], answer.text
        unreachable = api.post("/scrape", json={"url": "http://127.0.0.1:9/"})  # nothing listens on port 9
        assert unreachable.status_code == 404 and "could not open http://127.0.0.1:9/" in unreachable.json()["message"]

    peer.reply('{"name": "pears", "price_eur": 2}')
    got = run_node(
        f"""
        const data = await client.scrape({json.dumps(site.url + "/")}, {{ instructions: "the product" }});
        report(data);
        """,
        url=llm_server.url,
        key=llm_server.key,
    )
    assert got == {"success": True, "data": {"name": "pears", "price_eur": 2}, "error": None}


def test_scrape_from_html_extracts_with_no_browser(llm_server: LiveServer, peer: ChatPeer) -> None:
    schema = Product.model_json_schema()
    frames = [
        {"frameUrl": "https://shop.example/", "frameData": "<html><body><h1>Figs</h1><p>5 euros</p></body></html>"}
    ]
    with llm_server.client() as api:
        peer.reply('{"name": "figs", "price_eur": 5}')
        answer = api.post("/scrape_from_html", json={"frames": frames, "response_format": schema})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {
            "model_schema": {"success": True, "model_schema": schema, "error": None},
            "scrape": {"success": True, "data": {"name": "figs", "price_eur": 5}, "error": None},
        }
        assert "# Figs\n\n5 euros" in peer.requests[-1]["messages"][1]["content"]
        assert api.post("/scrape_from_html", json={"frames": frames}).status_code == 422  # nothing to extract
        assert api.post("/scrape_from_html", json={"frames": [], "instructions": "x"}).status_code == 422


def test_prompt_help_through_the_typescript_client(llm_server: LiveServer, peer: ChatPeer) -> None:
    better = "Open {{site}}, search for {{ city }}, and return the first hotel's price; if none, search {{city}} again."
    peer.reply(json.dumps({"prompt": better}), '{"prompt": "Stop reloading: type the city into the search box."}')
    messages = [
        {"role": "assistant", "content": "I reload the page."},
        {"role": "user", "content": [{"type": "text", "text": "The same page."}, {"type": "image_url"}]},
    ]
    got = run_node(
        f"""
        const sdk = await import({json.dumps(CLIENT_MODULE.as_uri())});
        const improved = await sdk.improvePrompt({{ body: {{ prompt: "hotel price paris" }} }});
        const stuck = {{ task: "hotel price paris", agent_messages: {json.dumps(messages)} }};
        const nudged = await sdk.nudgePrompt({{ body: stuck }});
        report({{ improved: improved.data, nudged: nudged.data }});
        """,
        url=llm_server.url,
        key=llm_server.key,
    )
    assert got == {
        "improved": {"prompt": better, "variables": ["site", "city"]},
        "nudged": {"prompt": "Stop reloading: type the city into the search box."},
    }
    improve, nudge = peer.requests[-2:]
    assert "hotel price paris" in improve["messages"][1]["content"]
    assert "[assistant] I reload the page.\n[user] The same page." in nudge["messages"][1]["content"]


def test_prompt_help_refuses_bad_requests_and_answers_that_are_not_prompts(
    llm_server: LiveServer, peer: ChatPeer
) -> None:
    with llm_server.client() as api:
        for path, body in (
            ("/prompts/improve", {"prompt": ""}),
            ("/prompts/improve", {"prompt": "x", "variables": ["a"]}),
            ("/prompts/nudge", {"task": "x"}),
            ("/prompts/nudge", {"task": "x", "agent_messages": "hi"}),
        ):
            answer = api.post(path, json=body)
            assert answer.status_code == 422, (path, body, answer.text)
        peer.reply('{"text": "a prompt under another name"}')
        wrong = api.post("/prompts/improve", json={"prompt": "x"})
        assert wrong.status_code == 502, wrong.text
        assert 'improve_prompt: the model did not answer {"prompt": "..."}' in wrong.json()["message"]


def test_scrape_form_fill_and_fallback_fill_actions(
    session_on: tuple[httpx.Client, str], peer: ChatPeer, site: LocalSite
) -> None:
    api, sid = session_on

    def act(**action: Any) -> dict[str, Any]:
        response = api.post(f"/sessions/{sid}/page/execute", json=action)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    peer.reply('{"fruits": ["Apples", "Pears"]}')
    scraped = act(type="scrape", instructions="the fruits")
    assert scraped["success"] is True and "red apples" in scraped["data"]["markdown"]
    assert scraped["data"]["structured"] == {"success": True, "data": {"fruits": ["Apples", "Pears"]}, "error": None}

    act(type="goto", url=f"{site.url}/form")
    calls = len(peer.requests)
    found = act(type="form_fill", value={"email": "ada@example.org"})
    assert found["success"] is True and len(peer.requests) == calls  # an input that says what it takes: no model

    act(type="goto", url=f"{site.url}/library/join")
    peer.reply('{"fields": {"full_name": "I1", "email": "I2"}}')
    filled = act(type="form_fill", value={"full_name": "Ada Lovelace", "email": "ada@example.org"})
    assert (filled["success"], filled["message"]) == (True, "Filled full_name -> I1, email -> I2")
    sent = peer.requests[-1]["messages"][1]["content"]
    assert "Kinds of value to enter: full_name, email" in sent and "I2: Fill the field 'Where we write to you'" in sent
    assert "ada@example.org" not in json.dumps(peer.requests[-1])  # values never go to the model
    both = "['who', 'reach'].map(i => document.getElementById(i).value).join('|')"
    values = act(type="evaluate_js", code=both)["data"]["markdown"]
    assert values == "Ada Lovelace|ada@example.org"

    act(type="goto", url=f"{site.url}/form")
    calls = len(peer.requests)
    assert act(type="fallback_fill", id="name", value="Grace")["success"] is True  # found: no model
    assert len(peer.requests) == calls
    peer.reply('{"id": "I2"}')
    fell_back = act(type="fallback_fill", text_label="e-mail address", value="grace@example.org")
    assert (fell_back["success"], fell_back["message"]) == (True, "Filled I2 (Fill the field 'Email')")
    email = act(type="evaluate_js", code="document.getElementById('email').value")
    assert email["data"]["markdown"] == "grace@example.org"
    peer.reply('{"id": null}')
    missing = act(type="fallback_fill", text_label="fax number", value="1")
    assert (missing["success"], missing["message"]) == (
        False,
        "fallback_fill failed: no field of the page matches 'fax number'",
    )
    assert api.post(f"/sessions/{sid}/page/execute", json={"type": "form_fill", "value": {}}).status_code == 422


def test_features_that_need_a_model_answer_501_without_one(browser_server: LiveServer, site: LocalSite) -> None:
    with browser_server.client() as api:
        sid = api.post("/sessions/start", json={}).json()["session_id"]
        for path, body in (
            ("/agents/start", {"session_id": sid, "task": "t"}),
            ("/scrape", {"url": f"{site.url}/", "instructions": "x"}),
            ("/scrape_from_html", {"frames": [{"frameUrl": "", "frameData": "<p>x</p>"}], "instructions": "x"}),
            ("/prompts/improve", {"prompt": "x"}),
            ("/prompts/nudge", {"task": "x", "agent_messages": []}),
        ):
            answer = api.post(path, json=body)
            assert answer.status_code == 501, (path, answer.text)
            assert (
                "needs a language model, and this server has none configured (setting llm_model: BROWSERFN_LLM_MODEL)"
                in (answer.json()["message"])
            )
        unmapped = api.post(f"/sessions/{sid}/page/execute", json={"type": "form_fill", "value": {"email": "a@b.c"}})
        assert (unmapped.status_code, unmapped.json()["success"]) == (200, False)  # no input says it takes one
        assert "no input on the page for ['email']" in unmapped.json()["message"]
        plain = api.post("/scrape", json={"url": f"{site.url}/"})
        assert plain.status_code == 200 and "red apples" in plain.json()["markdown"]
        api.delete(f"/sessions/{sid}/stop")
