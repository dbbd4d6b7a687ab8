"""Notte's "form submission" function: fill a form by element id, submit it, read the result."""

from notte_sdk import NotteClient


def run(url: str, name: str, email: str):
    client = NotteClient()
    with client.Session() as session:
        session.execute(type="goto", url=url)
        session.execute(type="fill", id="name", value=name)
        session.execute(type="fill", id="email", value=email)
        session.execute(type="click", selector="button[type='submit']")
        session.execute(type="wait", time_ms=500)
        page = session.scrape()
    return {"status": "submitted", "page": page}
