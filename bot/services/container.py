"""The services a listener or route may use, built once per process and owned by the aiohttp app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, system_clock
from bot.linode.gateway import LinodeGateway
from bot.metrics import Metrics
from bot.paypal.client import PayPalClient
from bot.paypal.verify import WebhookVerifier
from bot.settings import Settings
from bot.slack.installations import Installations

AFTER_ACK_CONCURRENCY = 8


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    metrics: Metrics
    pool: asyncpg.Pool  # plain asyncpg pool for the hot paths (actor lookups, wallet card, PayPal inbox)
    paypal: PayPalClient | None = None  # None until PAYPAL_CLIENT_ID/SECRET are configured
    webhook_verifier: WebhookVerifier | None = None  # None until PAYPAL_WEBHOOK_ID is configured
    linode: LinodeGateway | None = None  # the async Linode gateway (token resolved per call)
    installations: Installations | None = None  # distributed mode only: the installed workspaces
    clock: Clock = system_clock  # "now" for what users see and what is billed (the sandbox moves its own)
    #: Work a listener does after its ack (filling a modal it opened) waits here, so a burst of
    #: such work cannot crowd out new acks or exhaust the database pool (10 + 10 connections).
    after_ack: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(AFTER_ACK_CONCURRENCY))
    #: That work's tasks (`handlers.errors.run_after_ack`), held here because asyncio keeps only weak references.
    after_ack_tasks: set[asyncio.Task[None]] = field(default_factory=set)
