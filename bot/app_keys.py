"""Typed keys for what the aiohttp application owns (no string keys on the app)."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.services.container import Services
from bot.settings import Settings
from bot.slack.installations import Installations

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
DATABASE_URL = web.AppKey("database_url", str)
ENGINE = web.AppKey("engine", AsyncEngine)
SERVICES = web.AppKey("services", Services)
BOLT = web.AppKey("bolt", AsyncApp)
HEAD_REVISION = web.AppKey("head_revision", str)
STOPPING = web.AppKey("stopping", asyncio.Event)
HTTP_SESSION = web.AppKey("http_session", aiohttp.ClientSession)
POOL = web.AppKey("pool", asyncpg.Pool)
#: Distributed mode only: the installed workspaces (absent in single-workspace mode).
INSTALLATIONS = web.AppKey("installations", Installations)
