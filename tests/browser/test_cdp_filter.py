"""The CDP filter's rules message by message (browser/cdp_filter.py); the same rules against a real
shared browser are in test_context_sessions.py."""

from __future__ import annotations

from typing import Any

from browserfn.browser.cdp_filter import ContextFilter

OWN, OTHER = "CTX-OWN", "CTX-OTHER"


def _info(target_id: str, context: str | None, kind: str = "page") -> dict[str, Any]:
    info = {"targetId": target_id, "type": kind, "url": "about:blank", "attached": False}
    if context is not None:
        info["browserContextId"] = context
    return info


def _filter() -> ContextFilter:
    return ContextFilter(OWN, {OWN})


def _sent(view: ContextFilter, method: str, params: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """What reaches the browser for a client's command (which must be let through)."""
    to_browser, to_client = view.from_client({"id": 7, "method": method, "params": params or {}, **extra})
    assert to_client == [] and len(to_browser) == 1, (to_browser, to_client)
    return to_browser[0]


def _refused(view: ContextFilter, method: str, params: dict[str, Any] | None = None, **extra: Any) -> str:
    to_browser, to_client = view.from_client({"id": 7, "method": method, "params": params or {}, **extra})
    assert to_browser == [] and len(to_client) == 1 and to_client[0]["id"] == 7, (to_browser, to_client)
    message: str = to_client[0]["error"]["message"]
    return message


def test_commands_are_renumbered_and_answers_come_back_under_the_clients_id() -> None:
    view = _filter()
    sent = _sent(view, "Browser.getVersion")
    _, to_client = view.from_browser({"id": sent["id"], "result": {"product": "Chrome/1"}})
    assert to_client == [{"id": 7, "result": {"product": "Chrome/1"}}]
    assert view.from_browser({"id": 99999, "result": {}}) == ([], [])  # nobody sent it


def test_the_default_context_is_the_sessions() -> None:
    view = _filter()
    for method in (
        "Target.createTarget",
        "Storage.getCookies",
        "Browser.grantPermissions",
        "Browser.setDownloadBehavior",
    ):
        assert _sent(view, method)["params"]["browserContextId"] == OWN, method
    assert "context" in _refused(view, "Storage.getCookies", {"browserContextId": OTHER})
    assert _refused(view, "Target.disposeBrowserContext", {"browserContextId": OWN})


def test_targets_of_other_contexts_are_never_shown_and_never_reached() -> None:
    view = _filter()
    sent = _sent(view, "Target.getTargets")
    answer = {
        "id": sent["id"],
        "result": {"targetInfos": [_info("A", OWN), _info("B", OTHER), _info("X", None, "browser")]},
    }
    assert [i["targetId"] for i in view.from_browser(answer)[1][0]["result"]["targetInfos"]] == ["A"]
    for event in ("Target.targetCreated", "Target.targetInfoChanged"):
        assert view.from_browser({"method": event, "params": {"targetInfo": _info("B", OTHER)}}) == ([], [])
    assert view.from_browser({"method": "Target.targetDestroyed", "params": {"targetId": "B"}}) == ([], [])
    for method in ("Target.attachToTarget", "Target.closeTarget", "Target.getTargetInfo", "Browser.getWindowForTarget"):
        _refused(view, method, {"targetId": "B"})
    _sent(view, "Target.attachToTarget", {"targetId": "A", "flatten": True})


def test_another_contexts_auto_attached_target_is_resumed_and_detached_unseen() -> None:
    view = _filter()
    event = {
        "method": "Target.attachedToTarget",
        "params": {"sessionId": "S-B", "targetInfo": _info("B", OTHER), "waitingForDebugger": True},
    }
    to_browser, to_client = view.from_browser(event)
    assert to_client == []
    assert [(m["method"], m.get("sessionId"), m["params"]) for m in to_browser] == [
        ("Runtime.runIfWaitingForDebugger", "S-B", {}),
        ("Target.detachFromTarget", None, {"sessionId": "S-B"}),
    ]
    for own in to_browser:  # their answers are the filter's own
        assert view.from_browser({"id": own["id"], "result": {}}) == ([], [])
    assert view.from_browser({"method": "Page.loadEventFired", "sessionId": "S-B", "params": {}}) == ([], [])
    assert _refused(view, "Runtime.evaluate", {"expression": "1"}, sessionId="S-B")
    # The session's own target is shown, and its session usable.
    mine = {"method": "Target.attachedToTarget", "params": {"sessionId": "S-A", "targetInfo": _info("A", OWN)}}
    assert view.from_browser(mine) == ([], [mine])
    assert _sent(view, "Runtime.evaluate", {"expression": "1"}, sessionId="S-A")["sessionId"] == "S-A"


def test_what_acts_on_the_whole_browser_is_refused() -> None:
    view = _filter()
    for method in ("Browser.close", "Browser.crash", "Target.exposeDevToolsProtocol"):
        _refused(view, method)
    for method in ("Tracing.start", "SystemInfo.getProcessInfo", "Memory.getAllTimeSamplingProfile"):
        _refused(view, method)
    _refused(view, "Browser.setWindowBounds", {"windowId": 1, "bounds": {}})  # not a window of its targets


def test_a_session_on_the_browser_target_has_the_browser_connections_rules() -> None:
    view = _filter()
    sent = _sent(view, "Target.attachToBrowserTarget")
    event = {
        "method": "Target.attachedToTarget",
        "params": {"sessionId": "S-BR", "targetInfo": _info("BR", None, "browser")},
    }
    assert view.from_browser(event) == ([], [event])  # before its answer, as Chromium sends it
    assert view.from_browser({"id": sent["id"], "result": {"sessionId": "S-BR"}})[1][0]["result"] == {
        "sessionId": "S-BR"
    }
    assert _sent(view, "Target.getTargets", sessionId="S-BR")["sessionId"] == "S-BR"
    assert _sent(view, "Storage.getCookies", sessionId="S-BR")["params"]["browserContextId"] == OWN
    for method in ("Browser.close", "Tracing.start"):
        _refused(view, method, sessionId="S-BR")
    _refused(view, "Target.attachToTarget", {"targetId": "B"}, sessionId="S-BR")
    # A browser target attached otherwise (no command asked for it) is detached unseen.
    other = {
        "method": "Target.attachedToTarget",
        "params": {"sessionId": "S-X", "targetInfo": _info("BR", None, "browser")},
    }
    assert view.from_browser(other)[1] == []


def test_contexts_the_client_creates_are_the_sessions_and_listed_alone() -> None:
    contexts = {OWN}
    view = ContextFilter(OWN, contexts)
    sent = _sent(view, "Target.createBrowserContext")
    view.from_browser({"id": sent["id"], "result": {"browserContextId": "CTX-NEW"}})
    assert contexts == {OWN, "CTX-NEW"}  # disposed of with the session
    sent = _sent(view, "Target.getBrowserContexts")
    listed = view.from_browser({"id": sent["id"], "result": {"browserContextIds": [OWN, "CTX-NEW", OTHER]}})
    assert listed[1][0]["result"]["browserContextIds"] == ["CTX-NEW"]
    assert _sent(view, "Target.createTarget", {"url": "about:blank", "browserContextId": "CTX-NEW"})
