"""What a session's CDP client may see and do in a browser that other sessions of its account use
too: only the session's browser contexts (the one the server made for it, and any the client
creates), their targets, and the sessions it attached to them.

`ContextFilter` reads every message of one CDP connection, both ways, and decides:
- client to browser: a command on a flattened session the client did not get is refused, as is
  one naming a target or a browser context that is not the session's; what acts on the whole
  browser (Browser.close, Browser.crash, tracing, exposing CDP to a page...) is refused; a session
  on the browser target (Target.attachToBrowserTarget, Playwright's new_browser_cdp_session) gets
  the rules of the browser's own connection; the calls a client makes for the "default context" (no browserContextId:
  Target.createTarget, Storage.get/set/clearCookies, Browser.grantPermissions, resetPermissions,
  setPermission, setDownloadBehavior) are sent for the session's context; command ids are the
  filter's own upstream (the client's come back in the answers).
- browser to client: Target.* events and the targets of Target.getTargets only for the session's
  contexts; Target.getBrowserContexts lists only the contexts the client created (the session's
  own stands for the default one, as it does for Playwright and Puppeteer: both give targets of a
  context they do not know to their default context); another context's target auto-attached to
  this connection is resumed and detached by the filter, never shown.
"""

from __future__ import annotations

import itertools
from collections.abc import MutableSet
from typing import Any

Message = dict[str, Any]

#: Commands no session's client may send, whatever the session: they act on the browser process
#: every session of the account shares, or reach past the session's targets.
REFUSED = frozenset(
    {
        "Browser.close",
        "Browser.crash",
        "Browser.crashGpuProcess",
        "Browser.executeBrowserCommand",
        "Browser.getBrowserCommandLine",
        "Browser.getHistograms",
        "Browser.getHistogram",
        "Target.exposeDevToolsProtocol",
        "Target.sendMessageToTarget",
        "Target.setRemoteLocations",
        "Target.openDevTools",
        "SystemInfo.getProcessInfo",
    }
)
#: Commands that act on one browser context: without a browserContextId (the "default context"),
#: they are sent for the session's.
CONTEXT_COMMANDS = frozenset(
    {
        "Target.createTarget",
        "Storage.getCookies",
        "Storage.setCookies",
        "Storage.clearCookies",
        "Browser.grantPermissions",
        "Browser.resetPermissions",
        "Browser.setPermission",
        "Browser.setDownloadBehavior",
    }
)
#: Commands allowed on the browser's own connection (no sessionId), besides CONTEXT_COMMANDS.
BROWSER_LEVEL = frozenset(
    {
        "Browser.getVersion",
        "Browser.getWindowForTarget",
        "Browser.getWindowBounds",
        "Browser.setWindowBounds",
        "Browser.cancelDownload",
        "Target.setDiscoverTargets",
        "Target.setAutoAttach",
        "Target.autoAttachRelated",
        "Target.getTargets",
        "Target.getTargetInfo",
        "Target.attachToTarget",
        "Target.attachToBrowserTarget",
        "Target.detachFromTarget",
        "Target.closeTarget",
        "Target.activateTarget",
        "Target.createBrowserContext",
        "Target.disposeBrowserContext",
        "Target.getBrowserContexts",
        "Schema.getDomains",
    }
    | CONTEXT_COMMANDS
)
#: Commands on a window: only those of the session's targets (Browser.getWindowForTarget told of).
WINDOW_COMMANDS = frozenset({"Browser.getWindowBounds", "Browser.setWindowBounds"})
#: Chromium's own answers, so that clients read the same errors as from a browser of their own.
NO_SESSION = "Session with given id not found."
NO_TARGET = "No target with given id found"
NO_CONTEXT = "Failed to find browser context for id"
#: The code Chromium answers a bad command with.
SERVER_ERROR = -32000


class ContextFilter:
    """One CDP connection's view of a shared browser: `contexts` is the session's set of browser
    context ids (its first is the session's own; the set is shared with the session, which disposes
    of the contexts a client created when it closes)."""

    def __init__(self, own_context: str, contexts: MutableSet[str]) -> None:
        self.own_context = own_context
        self.contexts = contexts
        self.targets: set[str] = set()  #: targets of the session's contexts the client has been told of
        self.sessions: set[str] = set()  #: flattened CDP sessions the client attached to them
        #: Its sessions on the browser target: the rules of the browser's own connection apply.
        self.browser_sessions: set[str] = set()
        self._browser_attaches = 0  #: Target.attachToBrowserTarget commands not yet answered
        self.windows: set[int] = set()  #: windows of those targets (Browser.getWindowForTarget)
        self._ids = itertools.count(1)
        #: Upstream id -> (the client's id, its method), or None for the filter's own commands.
        self._pending: dict[int, tuple[Any, str] | None] = {}

    # -- client to browser ------------------------------------------------------------------

    def from_client(self, message: Message) -> tuple[list[Message], list[Message]]:
        """(messages for the browser, messages for the client) in answer to a client's command."""
        client_id = message.get("id")
        method = message.get("method")
        session_id = message.get("sessionId")
        params = message.get("params")
        params = dict(params) if isinstance(params, dict) else {}
        if not isinstance(client_id, int) or not isinstance(method, str):
            return [], [_error(client_id, session_id, "Message must have integer 'id' and string 'method' properties")]
        refusal = self._refusal(method, params, session_id)
        if refusal is not None:
            return [], [_error(client_id, session_id, refusal)]
        if method == "Target.attachToBrowserTarget":
            self._browser_attaches += 1
        upstream_id = next(self._ids)
        self._pending[upstream_id] = (client_id, method)
        sent: Message = {"id": upstream_id, "method": method, "params": params}
        if session_id is not None:
            sent["sessionId"] = session_id
        return [sent], []

    def _refusal(self, method: str, params: dict[str, Any], session_id: Any) -> str | None:
        """Why the command may not go to the browser (None: it may; `params` may be completed)."""
        if session_id in self.browser_sessions:
            session_id = None  # as on the browser's own connection
        elif session_id is not None and session_id not in self.sessions:
            return NO_SESSION
        if method in REFUSED:
            return f"{method} is not available here: this session's browser serves other sessions too"
        if session_id is None and method not in BROWSER_LEVEL:
            return f"{method} is not available on the browser target here; send it to a page's session"
        target_id = params.get("targetId")
        if target_id is not None and method.split(".", 1)[0] in ("Target", "Browser") and target_id not in self.targets:
            return NO_TARGET
        if "browserContextId" in params and params["browserContextId"] not in self.contexts:
            return NO_CONTEXT
        if method == "Target.disposeBrowserContext" and params.get("browserContextId") == self.own_context:
            return "the session's own browser context closes with the session: stop the session instead"
        if method in CONTEXT_COMMANDS and params.get("browserContextId") is None:
            params["browserContextId"] = self.own_context
        if method in WINDOW_COMMANDS and params.get("windowId") not in self.windows:
            return "Browser window not found"
        if method == "Browser.getWindowForTarget" and session_id is None and target_id is None:
            return NO_TARGET
        return None

    # -- browser to client ------------------------------------------------------------------

    def from_browser(self, message: Message) -> tuple[list[Message], list[Message]]:
        """(messages for the browser, messages for the client) on a message from the browser."""
        if "id" in message:
            return [], self._answer(message)
        session_id = message.get("sessionId")
        if session_id is not None and session_id not in self.sessions and session_id not in self.browser_sessions:
            return [], []  # a target the filter detached from, before its detach took
        method = message.get("method")
        params = message.get("params") or {}
        if method == "Target.attachedToTarget":
            return self._attached(message, params)
        if method == "Target.detachedFromTarget":
            detached = params.get("sessionId")
            if detached not in self.sessions and detached not in self.browser_sessions:
                return [], []
            self.sessions.discard(detached)
            self.browser_sessions.discard(detached)
        elif method in ("Target.targetCreated", "Target.targetInfoChanged"):
            if not self._mine(params.get("targetInfo")):
                return [], []
        elif method in ("Target.targetDestroyed", "Target.targetCrashed"):
            if params.get("targetId") not in self.targets:
                return [], []
            if method == "Target.targetDestroyed":
                self.targets.discard(params["targetId"])
        elif method == "Target.receivedMessageFromTarget":
            return [], []  # the unflattened mode (Target.sendMessageToTarget) is refused
        return [], [message]

    def _mine(self, info: Any) -> bool:
        """Whether a TargetInfo is of the session's contexts (it is then known to the client)."""
        if not isinstance(info, dict) or info.get("browserContextId") not in self.contexts:
            return False
        self.targets.add(info["targetId"])
        return True

    def _attached(self, message: Message, params: dict[str, Any]) -> tuple[list[Message], list[Message]]:
        """A target attached to this connection: shown if it is the session's; else resumed (it
        may wait for this connection's debugger) and detached, unseen."""
        child = str(params.get("sessionId", ""))
        if self._mine(params.get("targetInfo")):
            self.sessions.add(child)
            return [], [message]
        if _is_browser(params.get("targetInfo")) and (child in self.browser_sessions or self._browser_attaches):
            if child not in self.browser_sessions:  # the event of an attachToBrowserTarget, before its answer
                self._browser_attaches -= 1
                self.browser_sessions.add(child)
            return [], [message]
        parent = message.get("sessionId")
        own: list[Message] = []
        if params.get("waitingForDebugger"):
            own.append(self._own_command("Runtime.runIfWaitingForDebugger", {}, child))
        own.append(self._own_command("Target.detachFromTarget", {"sessionId": child}, parent))
        return own, []

    def _own_command(self, method: str, params: dict[str, Any], session_id: Any) -> Message:
        upstream_id = next(self._ids)
        self._pending[upstream_id] = None
        sent: Message = {"id": upstream_id, "method": method, "params": params}
        if session_id is not None:
            sent["sessionId"] = session_id
        return sent

    def _answer(self, message: Message) -> list[Message]:
        """The answer to a command, under the client's id, with what it may see of the result."""
        pending = self._pending.pop(message["id"], None)
        if pending is None:
            return []  # the filter's own command, or an id nobody sent
        client_id, method = pending
        if method == "Target.attachToBrowserTarget" and "error" in message:
            self._browser_attaches -= 1
        answer = {**message, "id": client_id}
        result = message.get("result")
        if isinstance(result, dict):
            answer["result"] = self._result(method, result)
        return [answer]

    def _result(self, method: str, result: dict[str, Any]) -> dict[str, Any]:
        if method == "Target.getTargets":
            return {**result, "targetInfos": [info for info in result.get("targetInfos", []) if self._mine(info)]}
        if method == "Target.getBrowserContexts":
            ids = [c for c in result.get("browserContextIds", []) if c in self.contexts and c != self.own_context]
            return {**result, "browserContextIds": ids}
        if method == "Target.createTarget" and "targetId" in result:
            self.targets.add(result["targetId"])
        elif method == "Target.createBrowserContext" and "browserContextId" in result:
            self.contexts.add(result["browserContextId"])
        elif method == "Target.attachToTarget" and "sessionId" in result:
            self.sessions.add(result["sessionId"])
        elif method == "Target.attachToBrowserTarget" and "sessionId" in result:
            if result["sessionId"] not in self.browser_sessions:
                self._browser_attaches -= 1
                self.browser_sessions.add(result["sessionId"])
        elif method == "Browser.getWindowForTarget" and isinstance(result.get("windowId"), int):
            self.windows.add(result["windowId"])
        return result


def _is_browser(info: Any) -> bool:
    return isinstance(info, dict) and info.get("type") == "browser"


def _error(client_id: Any, session_id: Any, text: str) -> Message:
    answer: Message = {"id": client_id, "error": {"code": SERVER_ERROR, "message": text}}
    if session_id is not None:
        answer["sessionId"] = session_id
    return answer
