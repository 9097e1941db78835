"""The one aiohttp application: Slack, webhooks, pages and health, plus its background workers.

Long-lived resources (pool, Slack clients, Bolt, workers) are created in `cleanup_ctx` and closed
in reverse order on shutdown, so SIGTERM stops taking requests, lets in-flight work finish and
then closes the pools.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import aiohttp
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

import handlers
import webhooks
from bot.app_keys import (
    BOLT,
    DATABASE_URL,
    ENGINE,
    HEAD_REVISION,
    HTTP_SESSION,
    INSTALLATIONS,
    METRICS,
    POOL,
    SERVICES,
    SETTINGS,
    STOPPING,
)
from bot.clock import Clock, system_clock
from bot.db import plain
from bot.db.engine import create_engine
from bot.db.migrate import head_revision
from bot.jobs.housekeeping import housekeeping
from bot.jobs.outbox import OutboxPolicy, OutboxWorker
from bot.jobs.paypal_events import InboxPolicy, PayPalEventWorker
from bot.jobs.paypal_reconciler import TopUpReconciler
from bot.jobs.scheduler import PeriodicJob, start_scheduler
from bot.jobs.tickets_jobs import start_ticket_listener, ticket_periodic_jobs
from bot.jobs.vps_sync import VpsOptions, build_vps_gateway, start_vps_workers, vps_periodic_jobs
from bot.metrics import Metrics
from bot.paypal.client import PayPalClient
from bot.paypal.verify import WebhookVerifier, load_trust_anchors
from bot.services.container import Services
from bot.services.limitations import log_limitations
from bot.services.paypal_events import PayPalEventProcessor
from bot.settings import Settings
from bot.slack.ack_runner import LISTENER_TASK
from bot.slack.authorize import RememberConversations
from bot.slack.bolt_app import build_bolt_app
from bot.slack.client import WorkspaceClients, interactive_client, outbox_client
from bot.slack.workspaces import distributed, not_installed

log = logging.getLogger(__name__)

#: Largest request body accepted on any route (Slack payloads and PayPal events are far smaller).
MAX_BODY_BYTES = 1024 * 1024
#: How long shutdown waits for Slack listeners that were acked but are still working.
LISTENER_DRAIN_SECONDS = 20.0
HOUSEKEEPING_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True)
class AppOptions:
    """Knobs for tests and the sandbox; production uses the defaults."""

    run_workers: bool = True  # workers and scheduler; off in `bot.serve`'s helper processes
    metrics_listener: bool = True  # METRICS_PORT's listener; only one process of a multi-process serve binds it
    socket_mode: bool = True  # with SLACK_APP_TOKEN; one process of a multi-process serve holds it
    outbox_policy: OutboxPolicy | None = None
    inbox_policy: InboxPolicy | None = None
    reconcile_every_seconds: float = 300.0
    ticket_listener: bool = True
    ticket_periodic_jobs: bool = True
    ticket_sync_every_seconds: float = 30.0
    slack_client: AsyncWebClient | None = None
    scheduler_first_tick_seconds: float = 60.0  # billing/summary ticks start this long after boot
    vps: VpsOptions | None = None  # Linode polling, job and sync tunables (tests make them fast)
    clock: Clock = system_clock  # the sandbox's own clock, which `:clock` moves


def create_app(settings: Settings, database_url: str, options: AppOptions | None = None) -> web.Application:
    options = options or AppOptions()
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[observe_requests])
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[DATABASE_URL] = database_url
    app[HEAD_REVISION] = head_revision()
    app[STOPPING] = asyncio.Event()
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_http_session)
    app.cleanup_ctx.append(_slack(options))
    if options.run_workers:
        app.cleanup_ctx.append(_workers(options))
        app.on_startup.append(_warn_about_limitations)  # once per serve, by the process running the workers
    if options.metrics_listener and settings.metrics_listener is not None:
        app.cleanup_ctx.append(_metrics_listener)
    app.on_shutdown.append(_mark_stopping)
    webhooks.add_routes(app)
    return app


@web.middleware
async def observe_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Count requests and time them by route template (never by raw path: tokens stay out)."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        request.app[METRICS].observe_http(route, request.method, status, time.perf_counter() - started)


async def _warn_about_limitations(app: web.Application) -> None:
    """Say at start which configured features cannot work, rather than at their first use."""
    await log_limitations(app[SETTINGS], app[ENGINE])


async def _mark_stopping(app: web.Application) -> None:
    app[STOPPING].set()


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = create_engine(app[DATABASE_URL])
    app[ENGINE] = engine
    pool = await plain.create_pool(app[DATABASE_URL])
    app[POOL] = pool
    yield
    await pool.close()
    await engine.dispose()


async def _metrics_listener(app: web.Application) -> AsyncIterator[None]:
    """/metrics on its own address (loopback by default), for a Prometheus beside the bot. With
    several processes it reports the sum over all of them, as /metrics on the main port does."""
    host, port = app[SETTINGS].metrics_listener or ("127.0.0.1", 0)
    runner = web.AppRunner(webhooks.metrics_app(app[SETTINGS], app[METRICS]), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("metrics.listening", extra={"host": host, "port": port})
    yield
    await runner.cleanup()


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    """One outbound HTTP session (PayPal API, certificate fetches) for the whole process."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
    app[HTTP_SESSION] = session
    yield
    await session.close()


def _paypal(settings: Settings, session: aiohttp.ClientSession) -> tuple[PayPalClient | None, WebhookVerifier | None]:
    client = None
    if settings.has_paypal_credentials:
        client = PayPalClient(
            session,
            settings.paypal_base_url,
            settings.paypal_client_id or "",
            settings.paypal_client_secret.get_secret_value() if settings.paypal_client_secret else "",
        )
    verifier = None
    if settings.paypal_webhook_id:
        verifier = WebhookVerifier(
            session=session,
            webhook_id=settings.paypal_webhook_id,
            allowed_origins=settings.cert_hosts,
            trust_anchors=load_trust_anchors(settings.paypal_cert_ca),
        )
    return client, verifier


def _slack(options: AppOptions) -> Callable[[web.Application], AsyncIterator[None]]:
    async def slack(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        token, secret = _slack_credentials(settings)
        client = options.slack_client or interactive_client(token, settings.slack_api_url, app[HTTP_SESSION])
        many = distributed(settings, app[ENGINE], app[HTTP_SESSION]) if token is None else None
        if many is None:
            bolt = build_bolt_app(secret, client)
        else:
            bolt = build_bolt_app(
                secret,
                client,
                authorize=many.authorize,
                oauth_settings=many.oauth_settings,
                not_installed_message=not_installed(settings),
            )
            bolt.use(RememberConversations(app[ENGINE]))
            app[INSTALLATIONS] = many.installations
        log.info("slack.mode", extra={"mode": settings.slack_mode})
        paypal, verifier = _paypal(settings, app[HTTP_SESSION])
        services = Services(
            settings=settings,
            engine=app[ENGINE],
            metrics=app[METRICS],
            pool=app[POOL],
            paypal=paypal,
            webhook_verifier=verifier,
            linode=build_vps_gateway(settings, app[ENGINE], options.vps),
            clock=options.clock,
            installations=many.installations if many is not None else None,
        )
        handlers.register_listeners(bolt, services)
        app[BOLT] = bolt
        app[SERVICES] = services
        socket_mode = await _start_socket_mode(bolt, settings) if options.socket_mode else None
        yield
        if socket_mode is not None:
            await socket_mode.close_async()
        await drain_listener_tasks(LISTENER_DRAIN_SECONDS)
        if services.linode is not None:
            services.linode.close()

    return slack


def _slack_credentials(settings: Settings) -> tuple[str | None, str]:
    """(the configured bot token, or None in distributed mode; the signing secret)."""
    if not settings.has_slack_credentials or settings.slack_signing_secret is None:
        raise RuntimeError("SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (or SLACK_CLIENT_ID/SECRET) are required")
    token = settings.slack_bot_token if settings.slack_mode == "single" else None
    return (token.get_secret_value() if token else None), settings.slack_signing_secret.get_secret_value()


async def _start_socket_mode(bolt: object, settings: Settings) -> object | None:
    """With SLACK_APP_TOKEN, also receive Slack over Socket Mode (for laptops behind NAT)."""
    if settings.slack_app_token is None:
        return None
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler  # noqa: PLC0415

    handler = AsyncSocketModeHandler(bolt, settings.slack_app_token.get_secret_value())  # type: ignore[arg-type]
    await handler.connect_async()
    log.info("slack.socket_mode_connected")
    return handler


async def drain_listener_tasks(grace_seconds: float) -> None:
    """Wait for Slack listeners still running after their ack (ours, and Bolt's own on its paths)."""
    pending = [
        task
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task()
        and (
            task.get_name() == LISTENER_TASK
            or "run_ack_function_asynchronously" in getattr(task.get_coro(), "__qualname__", "")
        )
    ]
    if pending:
        log.info("shutdown.draining_listeners", extra={"count": len(pending)})
        await asyncio.wait(pending, timeout=grace_seconds)


def _workers(options: AppOptions) -> Callable[[web.Application], AsyncIterator[None]]:
    async def workers(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        policy = options.outbox_policy or OutboxPolicy(max_attempts=settings.outbox_max_attempts)
        worker = OutboxWorker(app[ENGINE], _outbox_clients(app, options), app[METRICS], policy)
        services = app[SERVICES]
        processor = PayPalEventProcessor(services.engine, services.pool, settings, services.paypal)
        inbox = PayPalEventWorker(processor, app[METRICS], options.inbox_policy)
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(worker.run(stop), name="outbox-worker"),
            asyncio.create_task(inbox.run(stop), name="paypal-inbox-worker"),
            *start_ticket_listener(services.engine, app[DATABASE_URL], settings, stop, listen=options.ticket_listener),
            *start_vps_workers(services, stop, options.vps),
        ]
        ticker = start_scheduler(
            services.engine,
            settings,
            first_after_seconds=options.scheduler_first_tick_seconds,
            periodic=_periodic_jobs(services, options),
            clock=services.clock,
        )
        yield
        if ticker is not None:
            await ticker.stop()
        stop.set()
        await asyncio.wait(tasks, timeout=policy.lease_seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    return workers


def _outbox_clients(app: web.Application, options: AppOptions) -> WorkspaceClients:
    """The configured token's client, or in distributed mode each row's workspace's."""
    settings = app[SETTINGS]
    if INSTALLATIONS in app:
        return WorkspaceClients(
            installations=app[INSTALLATIONS],
            base_url=settings.slack_api_url,
            session=app[HTTP_SESSION],
            home_team=settings.slack_home_team,
        )
    token, _ = _slack_credentials(settings)
    return WorkspaceClients(
        single=options.slack_client or outbox_client(token or "", settings.slack_api_url, app[HTTP_SESSION])
    )


def _periodic_jobs(services: Services, options: AppOptions) -> list[PeriodicJob]:
    """Every periodic job besides billing and summaries, ticked by the scheduler (one replica each)."""
    tidy = partial(
        housekeeping, services.engine, paypal_max_age_seconds=services.settings.paypal_webhook_max_age_seconds
    )
    jobs = [PeriodicJob("housekeeping", HOUSEKEEPING_INTERVAL_SECONDS, tidy)]
    if services.paypal is not None:
        reconciler = TopUpReconciler(services.engine, services.settings, services.paypal)
        jobs.append(PeriodicJob("paypal-reconciler", options.reconcile_every_seconds, reconciler.run_once))
    if options.ticket_periodic_jobs:
        jobs += ticket_periodic_jobs(services.engine, services.settings, sync_seconds=options.ticket_sync_every_seconds)
    jobs += vps_periodic_jobs(services, options.vps)
    return jobs
