"""`create_app(settings)`: the whole server on the embedded default, wired once."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

import browserfn
from browserfn.agents.service import AgentService
from browserfn.api import errors, openapi_doc
from browserfn.api.access_log import AccessLog
from browserfn.api.agent_relay import AgentRelay
from browserfn.api.deps import Services
from browserfn.api.guards import JsonGuard
from browserfn.api.relay import SessionRelay
from browserfn.api.routes import agents as agent_routes
from browserfn.api.routes import cloud_only, console, functions, health, prompts, runs, schedules, sessions, webhooks
from browserfn.api.routes import docs as docs_routes
from browserfn.api.routes import function_rollback as rollback_routes
from browserfn.api.routes import keys as key_routes
from browserfn.api.routes import metrics as metrics_routes
from browserfn.api.routes import personas as persona_routes
from browserfn.api.routes import profiles as profile_routes
from browserfn.api.routes import run_payloads as payload_routes
from browserfn.api.routes import scrape as scrape_routes
from browserfn.api.routes import secrets as secret_routes
from browserfn.api.routes import session_data as session_data_routes
from browserfn.api.routes import storage as storage_routes
from browserfn.api.routes import usage as usage_routes
from browserfn.api.routes import vaults as vault_routes
from browserfn.api.routes import viewer as viewer_routes
from browserfn.browser.llm import ModelCall
from browserfn.browser.sessions import SessionManager
from browserfn.config import Settings
from browserfn.executor import create_bus, create_executor
from browserfn.functions import FunctionService
from browserfn.mail import mail_listener
from browserfn.metrics import Metrics, run_end_listener
from browserfn.models import Run
from browserfn.runs import RunService
from browserfn.scheduler import Scheduler
from browserfn.store import open_store
from browserfn.store.ops import model_calls
from browserfn.webhooks import WebhookDispatcher

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_services(settings: Settings) -> Services:
    store = open_store(settings)
    bus = create_bus(settings)
    executor = create_executor(settings, store, bus)
    function_service = FunctionService(settings, store)
    run_service = RunService(settings, store, executor, bus)
    dispatcher = WebhookDispatcher.from_settings(settings, store)
    executor.on_run_ended(dispatcher.run_ended)
    browser_sessions = SessionManager(settings, store, bus)
    if browser_sessions.llm is not None:  # every model call is kept, for usage

        async def record_model_call(call: ModelCall) -> None:
            await store.call(model_calls.record, call)

        browser_sessions.llm.on_call(record_model_call)

    async def close_run_sessions(run_id: str, _: Run | None) -> None:
        await browser_sessions.close_run_sessions(run_id)

    executor.on_run_ended(close_run_sessions)
    metrics = Metrics()
    executor.on_run_ended(run_end_listener(metrics, store))
    return Services(
        settings=settings,
        store=store,
        bus=bus,
        executor=executor,
        functions=function_service,
        runs=run_service,
        sessions=browser_sessions,
        scheduler=Scheduler.from_settings(settings, store, function_service, run_service),
        webhooks=dispatcher,
        metrics=metrics,
        agents=AgentService(settings, browser_sessions, store),
    )


def create_app(settings: Settings) -> FastAPI:
    services = build_services(settings)
    mail = mail_listener(services)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.store.open()
        await services.bus.start()
        await services.executor.start()
        await services.sessions.start()
        await services.agents.start_service()
        services.webhooks.start()
        services.scheduler.start()
        await mail.start()
        try:
            yield
        finally:
            await mail.close()
            await services.scheduler.close()
            await services.executor.close()
            await services.agents.close()
            await services.sessions.close()
            await services.webhooks.close()
            await services.bus.close()
            await services.store.close()

    return build_app(services, lifespan)


def build_app(services: Services, lifespan: Lifespan | None = None) -> FastAPI:
    """The API on `services`; `lifespan` starts and stops them (a worker does that itself)."""
    settings = services.settings
    app = FastAPI(
        title="browserfn",
        version=browserfn.__version__,
        description="Serverless browser automations, wire-compatible with Notte Functions.",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
        docs_url=None,  # served by routes/docs.py from the package, not a CDN
        redoc_url=None,
    )
    app.state.services = services
    errors.install(app)
    openapi_doc.install(app)
    app.add_middleware(SessionRelay, services=services)
    app.add_middleware(AgentRelay, services=services)
    app.add_middleware(JsonGuard, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth)
    app.add_middleware(AccessLog, metrics=services.metrics)  # outermost: every request, its final status
    # Order matters: /functions/health before /functions/{id}; runs/create|start before runs/{run_id}.
    app.include_router(health.router)
    app.include_router(runs.router)
    app.include_router(payload_routes.router)
    app.include_router(rollback_routes.router)
    app.include_router(functions.router)
    app.include_router(key_routes.router)
    app.include_router(secret_routes.router)
    app.include_router(vault_routes.router)
    app.include_router(persona_routes.router)
    app.include_router(sessions.router)
    app.include_router(viewer_routes.router)
    app.include_router(session_data_routes.router)
    app.include_router(storage_routes.router)
    app.include_router(profile_routes.router)
    app.include_router(profile_routes.session_router)
    app.include_router(schedules.router)
    app.include_router(webhooks.router)
    app.include_router(agent_routes.router)
    app.include_router(scrape_routes.router)
    app.include_router(prompts.router)
    app.include_router(cloud_only.router)
    app.include_router(console.router)
    app.include_router(docs_routes.router)
    app.include_router(metrics_routes.router)
    app.include_router(usage_routes.router)
    return app
