"""Notte's element ids (`L1`, `B1`, `I1`...) work in `execute` without an observe first, and
always name an element of the page shown now, never one of a page observed before."""

from __future__ import annotations

from notte_sdk import NotteClient

from tests.browser.site import LocalSite
from tests.live_server import LiveServer


def test_ids_work_without_observe_and_follow_the_current_page(browser_server: LiveServer, site: LocalSite) -> None:
    client = NotteClient(api_key=browser_server.key, server_url=browser_server.url)
    with client.Session() as session:
        session.execute(type="goto", url=f"{site.url}/form")
        filled = session.execute(type="fill", id="I1", value="ada", raise_on_failure=False)
        assert filled.success, filled.message
        value = session.execute(type="evaluate_js", code="document.getElementById('name').value")
        assert value.data is not None and value.data.markdown == "ada"
        sent = session.execute(type="click", id="B1", raise_on_failure=False)  # the form's button, unobserved
        assert sent.success, sent.message
        where = session.execute(type="evaluate_js", code="location.pathname + location.search")
        assert where.data is not None and where.data.markdown.startswith("/submitted?name=ada"), where.data

        # Observe the shop's front page (links L1...), then go elsewhere: L1 is not that link any more.
        session.execute(type="goto", url=f"{site.url}/")
        links = [a.id for a in session.observe().space.interaction_actions if a.id.startswith("L")]
        assert "L1" in links
        session.execute(type="goto", url=f"{site.url}/form")  # a page without links
        clicked = session.execute(type="click", id="L1", raise_on_failure=False)
        assert not clicked.success
        assert "no element L1 on this page" in clicked.message, clicked.message
        assert session.execute(type="evaluate_js", code="location.pathname").data.markdown == "/form"  # type: ignore[union-attr]

        # Same id, new document: I2 is the e-mail field of the form shown now.
        session.execute(type="goto", url=f"{site.url}/form")
        session.execute(type="fill", id="I2", value="ada@example.com")
        email = session.execute(type="evaluate_js", code="document.getElementById('email').value")
        assert email.data is not None and email.data.markdown == "ada@example.com"
