"""`browserfn deploy FILE` and `browserfn functions`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import httpx

from browserfn.cli import output, resolve
from browserfn.cli.http import CliError, checked, handler, http_options


def add_parsers(commands: Any) -> None:
    deploy = commands.add_parser("deploy", parents=[http_options()], help="upload a script as a function")
    deploy.add_argument("file", type=Path, help="a Python script defining run(**variables)")
    deploy.add_argument(
        "--function", dest="function_id", help="update this function (id or unambiguous name) instead of creating one"
    )
    deploy.add_argument("--name")
    deploy.add_argument("--description")
    deploy.add_argument("--unrestricted", action="store_true", help="skip the restricted-mode checks")
    deploy.set_defaults(handler=handler(deploy_function))

    listing = commands.add_parser("functions", parents=[http_options()], help="list your functions")
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--page-size", type=int, default=50)
    listing.set_defaults(handler=handler(list_functions))


def deploy_function(args: argparse.Namespace, client: httpx.Client) -> int:
    if not args.file.is_file():
        raise CliError(f"no such file: {args.file}")
    files = {"file": (args.file.name, args.file.read_bytes(), "text/x-python")}
    params = {"restricted": "False"} if args.unrestricted else {}
    form = {k: v for k, v in (("name", args.name), ("description", args.description)) if v is not None}
    with output.spinner(f"deploying {args.file.name}"):
        if args.function_id:
            fid = resolve.function_id(client, args.function_id)
            function = checked(client.post(f"/functions/{fid}", files=files, params=params))
            if form:
                function = checked(client.patch(f"/functions/{fid}", json=form))
        else:
            function = checked(client.post("/functions/", files=files, data=form, params=params))
    if args.json:
        output.print_json(function)
        return 0
    verb = "updated" if args.function_id else "deployed"
    print(f"{output.paint(verb, 'green')} {function['function_id']}  version {function['latest_version']}")
    variables = ", ".join(_variable(v) for v in function.get("variables") or []) or "(none)"
    print(f"variables: {variables}")
    return 0


def _variable(v: dict[str, Any]) -> str:
    text = v["name"] + (f": {v['type']}" if v.get("type") else "")
    return text + (f" = {v['default']}" if v.get("default") is not None else "")


def list_functions(args: argparse.Namespace, client: httpx.Client) -> int:
    page = checked(client.get("/functions/", params={"page": args.page, "page_size": args.page_size}))
    if args.json:
        output.print_json(page)
        return 0
    rows = [
        [
            f["function_id"],
            f.get("name") or "-",
            f["latest_version"],
            str(len(f["versions"])),
            ", ".join(v["name"] for v in f.get("variables") or []) or "-",
            output.when(f["updated_at"]),
        ]
        for f in page["items"]
    ]
    output.table(["ID", "NAME", "LATEST", "VERSIONS", "VARIABLES", "UPDATED"], rows)
    if page["has_next"]:
        print(output.paint(f"more: --page {args.page + 1}", "grey"))
    return 0
