"""The services a listener or route may use, built once per process and owned by the aiohttp app."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import Metrics
from bot.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    metrics: Metrics
