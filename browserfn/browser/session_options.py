"""What a session-start request asks for, and whether this server does it.

Every field of Notte's SessionStartRequest (Python notte-sdk 1.10.0 and 1.9.7, TypeScript notte-sdk
0.0.3) is applied, refused with a 422 naming the field and why (not a 5xx: the clients retry a
start that answers one), or has no effect because it cannot have one here (`NO_EFFECT`,
documented in the README). A field no client knows is refused. `plan()` turns a request into a
`SessionPlan`: the Chromium flags, proxy, viewport, headers or CDP endpoint the session gets, and
the options echoed back (never a proxy password).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from browserfn.config import Settings
from browserfn.errors import BrowserfnError, InvalidInput

#: Fields a client may send that change nothing here, and why (the README's table says the same).
NO_EFFECT: dict[str, str] = {
    "screenshot_type": "deprecated by Notte (ignored since notte 1.10); screenshots are always plain",
    "wait_for_authentication": "a client-side waiting preference; it matters only with auth_ids, which are refused",
    "auth_retry": "retries of managed-auth logins; it matters only with auth_ids, which are refused",
}
#: 1.9.x clients send these with every start, whatever the caller asked: their defaults are taken as
#: "not asked for" (see `plan`).
LEGACY_DEFAULTS = {"solve_captchas": True, "proxies": True}
#: Width of the viewport an `aspect_ratio` gets (its height follows from the ratio).
ASPECT_WIDTH = 1280
ASPECT_RATIOS = {"16:9": (16, 9), "5:4": (5, 4)}
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,256}$")
_HEADER_VALUE = re.compile(r"^[\t\x20-\x7e]{0,8192}$")
#: The schemes a cdp_url may have.
CDP_SCHEMES = ("ws", "wss", "http", "https")
#: cdp_url policies an operator can choose (Settings.session_cdp_url).
CDP_POLICIES = ("off", "public", "any")


class NotServed(BrowserfnError):
    """A call for a feature this server does not have (the captcha_solve action)."""

    status_code = 501


class StartSessionRequest(BaseModel):
    """Notte's SessionStartRequest, every field any official client sends."""

    model_config = ConfigDict(extra="forbid")

    idle_timeout_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    timeout_minutes: int | None = Field(default=None, ge=1, le=24 * 60, description="Old name of idle_timeout_minutes")
    max_duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    solve_captchas: bool = False
    proxies: list[dict[str, Any]] | bool | str = False
    browser_type: Literal["chromium", "chrome", "chrome-nightly", "chrome-turbo", "firefox"] = "chromium"
    #: Sent by every page of the session (header and navigator.userAgent): one printable ASCII line.
    user_agent: str | None = Field(default=None, min_length=1, max_length=512, pattern=r"^[\x20-\x7e]+$")
    chrome_args: list[str] | None = None
    viewport_width: int | None = Field(default=None, ge=100, le=8000)
    viewport_height: int | None = Field(default=None, ge=100, le=8000)
    aspect_ratio: Literal["5:4", "16:9"] | None = None
    cdp_url: str | None = Field(default=None, max_length=2048)
    profile: dict[str, Any] | None = None
    web_bot_auth: bool = False
    extra_http_headers: dict[str, str] | None = None
    vault_id: str | None = None
    auth_ids: list[str] | None = None
    wait_for_authentication: bool = True
    auth_retry: int = Field(default=0, ge=0, le=2)
    block_ads: bool | None = None
    advanced_stealth: bool = False
    screenshot_type: Literal["raw", "full", "last_action"] | None = None
    demonstrate: bool = False
    headless: bool = True
    use_file_storage: bool = False

    @model_validator(mode="before")
    @classmethod
    def _unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(
                    f"unknown session option(s) {', '.join(map(repr, unknown))}: no Notte client sends them, "
                    "and this server would not act on them"
                )
        return data


@dataclasses.dataclass(frozen=True)
class ProxySpec:
    """One external proxy the session's browser sends everything through."""

    server: str  #: scheme://host:port
    username: str | None = None
    password: str | None = None
    bypass: str | None = None

    @property
    def needs_auth(self) -> bool:
        return bool(self.username or self.password)


@dataclasses.dataclass(frozen=True)
class SessionPlan:
    options: dict[str, Any]  #: echoed back and stored: no secret in it
    flags: tuple[str, ...] = ()  #: Chromium flags of its own launch (none: a pooled browser)
    proxy: ProxySpec | None = None
    viewport: tuple[int, int] | None = None
    extra_http_headers: dict[str, str] | None = None
    cdp_url: str | None = None  #: attach to this browser instead of launching one
    idle_timeout_min: int | None = None
    max_duration_min: int | None = None


def plan(request: StartSessionRequest, settings: Settings, legacy_client: bool = False) -> SessionPlan:
    """What the session gets, or the error naming the first option this server cannot honour.
    `legacy_client`: a 1.9.x Python client, which sends `solve_captchas` and `proxies` as `true`
    on every start whether or not its caller asked (they are taken as not asked for when this
    server has neither; the response says `false` for both)."""
    given = request.model_fields_set
    _refuse_unserved(request)
    if legacy_client:
        if request.solve_captchas is True and "solve_captchas" in given:
            request = request.model_copy(update={"solve_captchas": False})
        if request.proxies is True and not settings.session_proxy_pool:
            request = request.model_copy(update={"proxies": False})
    if request.solve_captchas:
        raise InvalidInput(
            "solve_captchas: this server has no captcha solver; start the session with solve_captchas=False "
            "(a person can solve a captcha through the live viewer: viewer_url)"
        )
    flags: list[str] = []
    if request.user_agent:
        flags.append(f"--user-agent={request.user_agent}")
    flags += _chrome_args(request.chrome_args, settings)
    proxy = _proxy(request.proxies, settings)
    if proxy is not None:
        flags += proxy_flags(proxy)
    viewport = _viewport(request)
    cdp = _cdp_url(request.cdp_url, settings) if request.cdp_url else None
    if cdp is not None and (flags or proxy is not None or request.profile is not None):
        named = "proxies" if proxy is not None else "profile" if request.profile else "user_agent or chrome_args"
        raise InvalidInput(f"cdp_url: {named} cannot apply to a browser this server does not launch")
    options: dict[str, Any] = {
        "browser_type": "chromium",
        "user_agent": request.user_agent,
        "viewport_width": viewport[0] if viewport else None,
        "viewport_height": viewport[1] if viewport else None,
        "proxies": proxy is not None,
        "chrome_args": list(request.chrome_args or []) or None,
        "cdp_url": _without_query(cdp) if cdp else None,
        "proxy_server": proxy.server if proxy else None,
        "extra_http_headers": sorted(request.extra_http_headers) if request.extra_http_headers else None,
        "vault_id": request.vault_id,  #: the session's actions fill credentials from it (browser/vault_fill.py)
        "profile": request.profile,  #: loaded into the browser, saved back with persist (browserfn/profiles.py)
    }
    return SessionPlan(
        options={k: v for k, v in options.items() if v is not None},
        flags=tuple(flags),
        proxy=proxy,
        viewport=viewport,
        extra_http_headers=_headers(request.extra_http_headers),
        cdp_url=cdp,
        idle_timeout_min=request.idle_timeout_minutes or request.timeout_minutes,
        max_duration_min=request.max_duration_minutes,
    )


#: Options that turn on a feature this server lacks: (is it asked for?, the error saying so).
_UNSERVED: tuple[tuple[Callable[[StartSessionRequest], object], BrowserfnError], ...] = (
    (lambda r: r.browser_type == "firefox", InvalidInput("browser_type 'firefox' is not available here")),
    (lambda r: not r.headless, InvalidInput("headless: sessions here are always headless; use the viewer_url")),
    (lambda r: r.auth_ids, InvalidInput("auth_ids: managed auth connections are Notte cloud's; this server has none")),
    (lambda r: r.web_bot_auth, InvalidInput("web_bot_auth: this server has no web bot authentication key")),
    (lambda r: r.advanced_stealth, InvalidInput("advanced_stealth: Notte cloud's stealth browsers are not here")),
    (lambda r: r.block_ads, InvalidInput("block_ads: this server has no ad-blocking filter list; send false")),
    (lambda r: r.demonstrate, InvalidInput("demonstrate: the Notte recorder extension is not available here")),
    (lambda r: r.use_file_storage, InvalidInput("use_file_storage: session file storage is not available here")),
)


def _refuse_unserved(request: StartSessionRequest) -> None:
    for asked, error in _UNSERVED:
        if asked(request):
            raise type(error)(error.message)


def _chrome_args(args: list[str] | None, settings: Settings) -> list[str]:
    """Flags the operator allows (Settings.session_chrome_args_allowed: flag names such as
    `--lang`, matched on the part before `=`); any other is refused by name."""
    allowed = set(settings.session_chrome_args_allowed)
    kept = []
    for arg in args or []:
        name = arg.split("=", 1)[0]
        if not arg.startswith("--") or name not in allowed or any(c in arg for c in "\0\r\n"):
            allowing = f"allowed here: {', '.join(sorted(allowed))}" if allowed else "none is allowed on this server"
            raise InvalidInput(f"chrome_args: {arg!r} is not allowed ({allowing}; the operator sets the list)")
        kept.append(arg)
    return kept


def _proxy(proxies: list[dict[str, Any]] | bool | str, settings: Settings) -> ProxySpec | None:
    if proxies is False:
        return None
    if proxies is True or isinstance(proxies, str):
        pool = settings.session_proxy_pool
        if not pool:
            what = "proxies=True" if proxies is True else f"proxies={proxies!r} (a country)"
            raise InvalidInput(
                f"proxies: {what} asks for the server's proxies and this server has none configured; "
                "give your own: proxies=[{'type': 'external', 'server': 'http://host:port', ...}]"
            )
        if isinstance(proxies, str):
            raise InvalidInput(f"proxies: proxies by country ({proxies!r}) are not available here; use proxies=True")
        return _operator_proxy(pool[0])
    if not proxies:
        return None
    if len(proxies) > 1:
        raise InvalidInput("proxies: one proxy per session here; give a list of one")
    item = proxies[0]
    kind = item.get("type", "external")
    if kind != "external":
        raise InvalidInput(f"proxies: {kind!r} proxies are Notte cloud's; give an 'external' one (server, username...)")
    unknown = sorted(set(item) - {"type", "server", "username", "password", "bypass"})
    if unknown:
        raise InvalidInput(f"proxies[0]: unknown field(s) {', '.join(map(repr, unknown))}")
    for name in ("server", "username", "password", "bypass"):
        value = item.get(name)
        if value is not None and (not isinstance(value, str) or any(c in value for c in "\0\r\n")):
            raise InvalidInput(f"proxies[0].{name} must be a string of one line")
    username, password = item.get("username"), item.get("password")
    server = _proxy_server(str(item.get("server") or ""), bool(username or password))
    return ProxySpec(server, username, password, item.get("bypass"))


def _operator_proxy(url: str) -> ProxySpec:
    """One of the operator's proxies (scheme://user:password@host:port)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    address = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()
    return ProxySpec(_proxy_server(address, bool(parts.username)), parts.username, parts.password)


def _proxy_server(given: str, with_credentials: bool) -> str:
    """A proxy's address as scheme://host:port, or the 422 saying what is wrong with it."""
    server = given if "://" in given else f"http://{given}"
    try:
        parts = urlsplit(server)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"proxies[0].server {given!r} is not a proxy address: {exc}") from exc
    if parts.scheme not in ("http", "https", "socks4", "socks5") or not parts.hostname or parts.path not in ("", "/"):
        raise InvalidInput(f"proxies[0].server {given!r} must be scheme://host:port (http, https, socks4 or socks5)")
    if parts.username or parts.password:
        raise InvalidInput("proxies[0].server: give the credentials as username and password, not in the URL")
    if with_credentials and parts.scheme != "http":
        raise InvalidInput(f"proxies[0]: username/password work with http:// proxies only here, not {parts.scheme}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}:{port or _default_port(parts.scheme)}"


def _default_port(scheme: str) -> int:
    return {"http": 80, "https": 443}.get(scheme, 1080)


def proxy_flags(proxy: ProxySpec, server: str | None = None) -> list[str]:
    """Chromium's flags for a proxy (`server`: where Chromium connects, when a local forwarder
    adds the credentials). Loopback goes through the proxy too (`<-loopback>`): everything the
    session fetches does, except what `bypass` names."""
    bypass = ["<-loopback>", *(p.strip() for p in (proxy.bypass or "").split(",") if p.strip())]
    return [f"--proxy-server={server or proxy.server}", f"--proxy-bypass-list={';'.join(bypass)}"]


def _viewport(request: StartSessionRequest) -> tuple[int, int] | None:
    width, height = request.viewport_width, request.viewport_height
    if request.aspect_ratio is not None:
        if width is not None or height is not None:
            raise InvalidInput("aspect_ratio cannot be combined with viewport_width/viewport_height")
        w, h = ASPECT_RATIOS[request.aspect_ratio]
        return ASPECT_WIDTH, ASPECT_WIDTH * h // w
    if (width is None) != (height is None):
        raise InvalidInput("viewport_width and viewport_height go together: give both or neither")
    return (width, height) if width is not None and height is not None else None


def _headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    if not headers:
        return None
    for name, value in headers.items():
        if not _HEADER_NAME.match(name) or not _HEADER_VALUE.match(value):
            raise InvalidInput(
                f"extra_http_headers: {name!r} is not a valid header (an HTTP token as name, a value of one line)"
            )
    return dict(headers)


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


def _cdp_url(url: str, settings: Settings) -> str:
    """The CDP endpoint to attach to, if the operator lets sessions attach (Settings.session_cdp_url:
    `off`, `public`, `any`). Where its host leads is checked when the session attaches
    (attached.checked_target): resolved once, and connected to only at the addresses checked."""
    if settings.session_cdp_url == "off":
        raise InvalidInput("cdp_url: attaching to an external browser is turned off on this server")
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError as exc:
        raise InvalidInput(f"cdp_url {url!r} is not a URL: {exc}") from exc
    if parts.scheme not in CDP_SCHEMES or not host:
        raise InvalidInput(f"cdp_url {_without_query(url)!r} must be a ws://, wss://, http:// or https:// URL")
    return url
