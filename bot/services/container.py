"""The services a listener or route may use, built once per process and owned by the aiohttp app."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.linode.gateway import LinodeGateway
from bot.metrics import Metrics
from bot.paypal.client import PayPalClient
from bot.paypal.verify import WebhookVerifier
from bot.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    metrics: Metrics
    pool: asyncpg.Pool  # plain asyncpg pool for the hottest writes (the PayPal webhook inbox)
    paypal: PayPalClient | None = None  # None until PAYPAL_CLIENT_ID/SECRET are configured
    webhook_verifier: WebhookVerifier | None = None  # None until PAYPAL_WEBHOOK_ID is configured
    linode: LinodeGateway | None = None  # the async Linode gateway (token resolved per call)
