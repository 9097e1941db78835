"""aiohttp routes: Slack's request URL, health endpoints (and later PayPal and browser pages).

No business rules here: routes call the same domain services as the Slack listeners.
"""

from __future__ import annotations

from aiohttp import web

from bot.app_keys import METRICS, SETTINGS
from bot.metrics import Metrics
from bot.settings import Settings
from webhooks import health, link, paypal, paypal_pages, slack_events, slack_oauth


def add_routes(app: web.Application) -> None:
    app.router.add_post("/slack/events", slack_events.slack_events, name="slack_events")
    app.router.add_get("/slack/install", slack_oauth.slack_install, name="slack_install")
    app.router.add_get("/slack/oauth_redirect", slack_oauth.slack_oauth_redirect, name="slack_oauth_redirect")
    app.router.add_post("/webhooks/paypal", paypal.paypal_webhook, name="paypal_webhook")
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_get("/readyz", health.readyz, name="readyz")
    app.router.add_get("/metrics", health.metrics, name="metrics")
    app.router.add_get("/link/{token}", link.link_page, name="link_page")
    app.router.add_post("/link/{token}", link.submit_link, name="link_submit")
    app.router.add_get("/paypal/return", paypal_pages.paypal_return, name="paypal_return")
    app.router.add_get("/paypal/cancel", paypal_pages.paypal_cancel, name="paypal_cancel")


def metrics_app(settings: Settings, metrics: Metrics) -> web.Application:
    """The separate metrics listener's app (METRICS_HOST/METRICS_PORT): `/metrics` and nothing else."""
    app = web.Application()
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app.router.add_get("/metrics", health.listener_metrics, name="listener_metrics")
    return app
