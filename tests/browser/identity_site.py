"""A small website that checks what a vault fills: a login form with a second step asking for a
TOTP code, a checkout form taking a card, and a page asking for a code it e-mailed (`code`). It
plays the real site: it knows the account's password, MFA secret and card, checks what it
receives (POST bodies, never URLs), and says on the resulting page whether it was right. It keeps
what it received for the test to inspect."""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pyotp

LOGIN = """<!doctype html><html><head><title>Sign in</title></head><body><main><h1>Sign in</h1>
<form action="/login" method="post">
<label>Account <input name="login" autocomplete="username"></label>
<label>Secret word <input name="pw" type="password" autocomplete="current-password"></label>
<label>Remember me <input name="remember" type="checkbox"></label>
<button type="submit">Sign in</button></form></main></body></html>"""

OTP = """<!doctype html><html><head><title>Two-step check</title></head><body><main>
<h1>Enter the code from your app</h1><form action="/otp" method="post">
<label>Code <input name="otp" inputmode="numeric" autocomplete="one-time-code"></label>
<button type="submit">Verify</button></form></main></body></html>"""

CHECKOUT = """<!doctype html><html><head><title>Checkout</title></head><body><main><h1>Pay</h1>
<form action="/pay" method="post">
<label>Full name <input name="fullname" autocomplete="name"></label>
<label>Name on card <input name="holder" autocomplete="cc-name"></label>
<label>Card number <input name="cardnumber" inputmode="numeric"></label>
<label>Expiry month <input name="exp-month" autocomplete="cc-exp-month"></label>
<label>Expiry year <input name="exp-year" autocomplete="cc-exp-year"></label>
<label>CVC <input name="cvc" type="password"></label>
<button type="submit">Pay</button></form></main></body></html>"""


VERIFY = """<!doctype html><html><head><title>Confirm your e-mail</title></head><body><main>
<h1>We e-mailed you a code</h1><form action="/verify" method="post">
<label>Code from the e-mail <input name="code"></label>
<button type="submit">Confirm</button></form></main></body></html>"""


def _page(title: str, text: str) -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{html.escape(text)}</h1></body></html>"


class IdentitySite:
    def __init__(self, login: str, password: str, mfa_secret: str, card: dict[str, str]) -> None:
        self.login, self.password, self.mfa_secret, self.card = login, password, mfa_secret, card
        self.received: list[tuple[str, dict[str, str]]] = []  #: (path, form) of every POST
        self.code = ""  #: the code /verify expects (the test e-mails it)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, body: str) -> None:
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                pages = {"/login": LOGIN, "/checkout": CHECKOUT, "/verify": VERIFY}
                if self.path in pages:
                    self._send(pages[self.path])
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                site.received.append((self.path, form))
                self._send(site.answer(self.path, form))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, path: str, form: dict[str, str]) -> str:
        if path == "/login":
            ok = form.get("login") == self.login and form.get("pw") == self.password
            return OTP if ok else _page("Login failed", "wrong account or password")
        if path == "/otp":
            ok = pyotp.TOTP(self.mfa_secret).verify(form.get("otp", ""), valid_window=1)
            return _page("Signed in", f"Welcome {self.login}") if ok else _page("Login failed", "wrong code")
        if path == "/verify":
            ok = bool(self.code) and form.get("code") == self.code
            return _page("Confirmed", "e-mail confirmed") if ok else _page("Not confirmed", "wrong code")
        if path == "/pay":
            month, _, year = self.card["card_full_expiration"].partition("/")
            expected = {
                "holder": self.card["card_holder_name"],
                "cardnumber": self.card["card_number"],
                "exp-month": month,
                "exp-year": year,
                "cvc": self.card["card_cvv"],
            }
            ok = all(form.get(k) == v for k, v in expected.items())
            return _page("Paid", "payment accepted") if ok else _page("Payment refused", repr(sorted(form)))
        return _page("Unknown", path)

    def start(self) -> IdentitySite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
