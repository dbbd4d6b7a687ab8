"""A function named on the command line by its id or, where unambiguous, by its name."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from browserfn.cli.http import CliError, checked

PAGE_SIZE = 100


def function_id(client: httpx.Client, ref: str) -> str:
    """`ref` if it is one of the caller's function ids, else the id of the one function named `ref`."""
    answer = client.get(f"/functions/{quote(ref, safe='')}")
    if answer.status_code == 200:
        return ref
    if answer.status_code not in (404, 422):
        checked(answer)
    named: list[str] = []
    page = 1
    while True:
        listing = checked(client.get("/functions/", params={"page": page, "page_size": PAGE_SIZE}))
        named += [f["function_id"] for f in listing["items"] if f.get("name") == ref]
        if not listing.get("has_next"):
            break
        page += 1
    if not named:
        raise CliError(f"no function {ref!r}: neither one of your function ids nor a function's name")
    if len(named) > 1:
        raise CliError(f"{len(named)} functions are named {ref!r} ({', '.join(named)}): give the id of one")
    return named[0]
