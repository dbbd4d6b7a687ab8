"""Request bodies of the Notte wire API (responses are built in browserfn.wire)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class StartRunRequest(BaseModel):
    """Body of `POST /functions/{id}/runs/start` (Notte's RunFunctionRequest; unknown fields refused)."""

    model_config = ConfigDict(extra="forbid")

    workflow_id: str | None = Field(None, description="The ID of the function to run")
    function_id: str | None = Field(None, description="The ID of the function to run (same as workflow_id)")
    variables: dict[str, Any] = Field(description="The variables to run the function with")
    stream: bool = Field(True, description="Whether to stream logs, or only return the final response")
    runtime: Literal["standard", "extended"] | None = Field(None, description="Accepted for compatibility")
    callback_url: str | None = Field(
        None, description="Receives a signed POST when the run ends (see GET /webhooks/secret)"
    )
    timeout: float | None = Field(None, description="Wall-clock limit of this run, in seconds (browserfn)")

    def target_function_id(self) -> str | None:
        return self.workflow_id or self.function_id


class StartCreatedRunRequest(StartRunRequest):
    """Body of `POST /functions/{id}/runs/{run_id}`: what the official SDK sends."""

    workflow_run_id: str | None = None
    function_run_id: str | None = None


class CreateRunRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    local: bool = False


class ReportRunRequest(BaseModel):
    """Body of `PATCH /functions/{id}/runs/{run_id}` (Notte's FunctionRunUpdateRequest)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["closed", "active", "failed"]
    session_id: str | None = None
    logs: list[str] | None = None
    variables: dict[str, Any] | None = None
    result: Any = None
    #: Fields sent as uploads (api/routes/run_payloads.py): field -> {size_bytes, sha256, upload_id}.
    payloads: dict[Literal["result", "logs", "variables"], dict[str, Any]] | None = None
    #: The start of a result sent as a payload; the whole result is kept, so this has no effect.
    result_preview: Any = None


class UpdateFunctionRequest(BaseModel):
    """Body of `PATCH /functions/{id}`."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str | None = None
    shared: bool | None = None
    default_runtime: Literal["standard", "extended"] | None = None
    timeout: float | None = Field(None, description="Default wall-clock limit of runs, in seconds")
    # Notte fields accepted for compatibility, without effect here:
    domain: str | None = None
    instructions: str | None = None
    self_healing: bool | None = None
    response_format: Any = None

    def store_fields(self) -> dict[str, Any]:
        given = self.model_dump(exclude_unset=True)
        kept = ("name", "description", "shared", "default_runtime")
        fields: dict[str, Any] = {k: given[k] for k in kept if k in given}
        if "timeout" in given:
            fields["timeout_s"] = given["timeout"]
        return fields
