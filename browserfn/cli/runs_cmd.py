"""`browserfn run`, `runs`, `logs` and `stop`: start and follow runs over the public API."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx

from browserfn.cli import output, resolve
from browserfn.cli.http import EXIT_RUN_FAILED, CliError, checked, handler, http_options

#: A run may be quiet for long (keep-alives arrive every few seconds): no read timeout on streams.
STREAM_TIMEOUT = httpx.Timeout(30.0, read=None)


def add_parsers(commands: Any) -> None:
    run = commands.add_parser("run", parents=[http_options()], help="start a run and stream its logs")
    run.add_argument("function_id", metavar="FUNCTION", help="a function's id, or its name if no other has it")
    run.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="JSON or plain text")
    run.add_argument("--version", help="run this version instead of the latest")
    run.add_argument("--timeout", type=float, help="wall-clock limit of the run, in seconds")
    run.set_defaults(handler=handler(start_run))

    runs = commands.add_parser("runs", parents=[http_options()], help="list a function's runs")
    runs.add_argument("function_id", metavar="FUNCTION", help="a function's id or unambiguous name")
    runs.add_argument("--status", choices=["active", "closed", "failed"], help="only runs with this status")
    runs.add_argument("--page", type=int, default=1)
    runs.add_argument("--page-size", type=int, default=20)
    runs.set_defaults(handler=handler(list_runs))

    logs = commands.add_parser("logs", parents=[http_options()], help="print a run's logs")
    logs.add_argument("function_id", metavar="FUNCTION", help="a function's id or unambiguous name")
    logs.add_argument("run_id")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")
    logs.set_defaults(handler=handler(show_logs))

    stop = commands.add_parser("stop", parents=[http_options()], help="stop a run")
    stop.add_argument("function_id", metavar="FUNCTION", help="a function's id or unambiguous name")
    stop.add_argument("run_id")
    stop.set_defaults(handler=handler(stop_run))


def parse_variables(pairs: list[str]) -> dict[str, Any]:
    """`name=value` pairs; a value that parses as JSON is that JSON (`n=3` is 3, `s="3"` is "3")."""
    variables: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise CliError(f"--var wants NAME=VALUE, got {pair!r}")
        try:
            variables[name] = json.loads(raw)
        except ValueError:
            variables[name] = raw
    return variables


def sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON objects of an SSE stream's `data:` lines."""
    for line in response.iter_lines():
        if line.startswith("data: "):
            try:
                event = json.loads(line[6:])
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event


def follow(response: httpx.Response, echo_logs: bool) -> dict[str, Any] | None:
    """Print log events as they come; return the result event's message, parsed."""
    stream = sys.stdout if echo_logs else sys.stderr
    for event in sse_events(response):
        if event.get("type") == "log":
            print(output.log_line(str(event.get("message", "")).rstrip("\n"), stream), file=stream, flush=True)
        elif event.get("type") == "session_start":
            print(output.paint(f"browser session {event.get('message')} started", "cyan", stream), file=stream)
        elif event.get("type") == "result":
            found: dict[str, Any] = json.loads(event["message"])
            return found
    return None


def _print_result(result: dict[str, Any]) -> None:
    status = result["status"]
    value = result.get("result")
    text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
    label = f"{status} ({result.get('state', status)})"
    coloured = output.paint(label, output.STATUS_COLOURS.get(status))
    print(f"{output.paint('run', 'bold')} {result['function_run_id']} {coloured}")
    print(text)


def start_run(args: argparse.Namespace, client: httpx.Client) -> int:
    args.function_id = resolve.function_id(client, args.function_id)
    body: dict[str, Any] = {"workflow_id": args.function_id, "variables": parse_variables(args.var), "stream": True}
    if args.timeout is not None:
        body["timeout"] = args.timeout
    params = {"version": args.version} if args.version else {}
    path = f"/functions/{args.function_id}/runs/start"
    with client.stream("POST", path, json=body, params=params, timeout=STREAM_TIMEOUT) as response:
        if not response.is_success:
            response.read()
            checked(response)
        try:
            result = follow(response, echo_logs=not args.json)
        except KeyboardInterrupt:
            print("\ninterrupted: the run goes on; stop it with `browserfn stop`", file=sys.stderr)
            return 130
    if result is None:
        raise CliError("the stream ended without a result")
    if args.json:
        output.print_json(result)
    else:
        _print_result(result)
    return 0 if result["status"] == "closed" else EXIT_RUN_FAILED


def list_runs(args: argparse.Namespace, client: httpx.Client) -> int:
    fid = resolve.function_id(client, args.function_id)
    params: dict[str, Any] = {"page": args.page, "page_size": args.page_size, "only_active": False}
    if args.status is not None:
        params["status"] = args.status  # filtered by the server: pages hold only matching runs
    page = checked(client.get(f"/functions/{fid}/runs/", params=params))
    items = page["items"]
    if args.json:
        output.print_json(page)
        return 0
    rows = [
        [
            r["function_run_id"],
            r["status"],
            r.get("state", "-"),
            r.get("origin") or "-",
            output.when(r.get("started_at") or r["created_at"]),
            output.duration(r.get("started_at"), r.get("stopped_at")),
        ]
        for r in items
    ]
    output.table(["RUN", "STATUS", "STATE", "ORIGIN", "STARTED", "DURATION"], rows, colour_column=1)
    if page["has_next"]:
        print(output.paint(f"more: --page {args.page + 1}", "grey"))
    return 0


def show_logs(args: argparse.Namespace, client: httpx.Client) -> int:
    base = f"/functions/{resolve.function_id(client, args.function_id)}/runs/{args.run_id}"
    if not args.follow:
        run = checked(client.get(base))
        if args.json:
            output.print_json({"function_run_id": run["function_run_id"], "status": run["status"], "logs": run["logs"]})
            return 0
        for line in run.get("logs") or []:
            print(output.log_line(line.rstrip("\n")))
        return 0
    with client.stream("GET", f"{base}/stream", timeout=STREAM_TIMEOUT) as response:
        if not response.is_success:
            response.read()
            checked(response)
        result = follow(response, echo_logs=True)
    if result is not None:
        _print_result(result)
        return 0 if result["status"] == "closed" else EXIT_RUN_FAILED
    return 0


def stop_run(args: argparse.Namespace, client: httpx.Client) -> int:
    with output.spinner(f"stopping {args.run_id}"):
        fid = resolve.function_id(client, args.function_id)
        answer = checked(client.delete(f"/functions/{fid}/runs/{args.run_id}"))
    if args.json:
        output.print_json(answer)
    else:
        print(f"{answer['status']} {answer['function_run_id']} ({answer.get('state', '')})")
    return 0
