"""Notte's "simple scraper" function: open a page in a session and return it as Markdown."""

from notte_sdk import NotteClient


def run(url: str):
    client = NotteClient()
    with client.Session() as session:
        session.execute(type="goto", url=url)
        content = session.scrape()
    return content
