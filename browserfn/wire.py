"""Notte's wire shapes, built from our models. Every id goes out under both spellings
(`function_id` and `workflow_id`, ...) with equal values, as the real server does."""

from __future__ import annotations

import json
from typing import Any

from browserfn.models import Function, Parameter, Run


def _ts(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def run_ids(run: Run) -> dict[str, str]:
    return {
        "function_id": run.function_id,
        "workflow_id": run.function_id,
        "function_run_id": run.run_id,
        "workflow_run_id": run.run_id,
    }


def result_value(run: Run) -> Any:
    """The run's result as a JSON value (what the live start response carries)."""
    return json.loads(run.result_json) if run.result_json is not None else None


def result_text(run: Run) -> str | None:
    """The result as GET run carries it: text; a returned string stays as it is."""
    value = result_value(run)
    if value is None or isinstance(value, str):
        return value
    return run.result_json


def function_run_response(run: Run) -> dict[str, Any]:
    """FunctionRunResponse: the answer of a run start, and the message of the `result` event."""
    return {
        **run_ids(run),
        "session_id": run.session_id,
        "result": result_value(run),
        "status": run.state.wire_status,
        "state": run.state.value,
    }


def result_event_message(run: Run) -> str:
    return json.dumps(function_run_response(run), ensure_ascii=False)


def run_record(run: Run, logs: list[str] | None) -> dict[str, Any]:
    """GetFunctionRunResponse (and list items, which may carry the same fields)."""
    record: dict[str, Any] = {
        **run_ids(run),
        "created_at": _ts(run.created_at),
        "updated_at": _ts(run.updated_at),
        "status": run.state.wire_status,
        "state": run.state.value,
        "reason": run.reason,
        "session_id": run.session_id,
        "variables": run.variables,
        "result": result_text(run),
        "local": run.local,
        "function_version": run.function_version,
        "started_at": _ts(run.started_at),
        "stopped_at": _ts(run.ended_at),
        "timeout_s": run.timeout_s,
        "origin": run.origin,
    }
    if logs is not None:
        record["logs"] = logs
    return record


def parameter_info(parameter: Parameter) -> dict[str, Any]:
    return {"name": parameter.name, "type": parameter.type, "default": parameter.default}


def function_record(function: Function) -> dict[str, Any]:
    """FunctionResponse."""
    return {
        "function_id": function.function_id,
        "workflow_id": function.function_id,
        "name": function.name,
        "description": function.description,
        "created_at": _ts(function.created_at),
        "updated_at": _ts(function.updated_at),
        "latest_version": function.latest_version,
        "versions": list(function.versions),
        "status": "active",
        "shared": function.shared,
        "variables": [parameter_info(p) for p in function.parameters],
        "reference_workflow_id": function.reference_function_id,
        "default_runtime": function.default_runtime,
        "sdk_generation": "v110",
        "timeout_s": function.timeout_s,
    }
