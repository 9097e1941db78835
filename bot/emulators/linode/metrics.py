"""What Linode measures for an instance: the last 24 hours of statistics and this month's transfer.

``GET …/stats`` answers 400 "Stats are unavailable at this time." until an instance has run for a
few minutes (Linode needs samples first), then 5-minute averages as ``[epoch milliseconds, value]``
pairs: CPU in percent, network in bits/s, disk I/O in blocks/s. The values are a deterministic
function of the instance id and the time, so a test can recompute what the bot was given.
``GET …/transfer`` answers ``used`` in bytes and ``quota``/``billable`` in GB.
"""

from __future__ import annotations

import math
from typing import Any

from bot.emulators.linode.wire import LinodeApiError

STATS_UNAVAILABLE = "Stats are unavailable at this time."
STEP = 300  # seconds between samples
WINDOW = 24 * 3600


def _wave(linode_id: int, t: float, period: float, phase: float) -> float:
    return 0.5 + 0.5 * math.sin(2 * math.pi * t / period + phase + linode_id % 17)


def sample_times(created: float, now: float) -> list[int]:
    """Sample times (epoch seconds) on 5-minute boundaries from the later of creation and 24 h ago."""
    first = math.ceil(max(created, now - WINDOW) / STEP) * STEP
    return list(range(first, int(now) + 1, STEP))


def series(linode_id: int, times: list[int]) -> dict[str, Any]:
    def points(scale: float, period: float, phase: float, floor: float = 0.0) -> list[list[float]]:
        return [[t * 1000.0, round(floor + scale * _wave(linode_id, t, period, phase), 2)] for t in times]

    return {
        "cpu": points(60.0, 6 * 3600, 0.0, floor=2.0),
        "io": {"io": points(40.0, 3 * 3600, 1.0), "swap": points(2.0, 12 * 3600, 2.0)},
        "netv4": {
            "in": points(800_000.0, 4 * 3600, 0.5, floor=10_000.0),
            "out": points(2_000_000.0, 5 * 3600, 1.5, floor=20_000.0),
            "private_in": points(0.0, 3600, 0.0),
            "private_out": points(0.0, 3600, 0.0),
        },
        "netv6": {
            "in": points(50_000.0, 4 * 3600, 2.5),
            "out": points(80_000.0, 5 * 3600, 3.5),
            "private_in": points(0.0, 3600, 0.0),
            "private_out": points(0.0, 3600, 0.0),
        },
    }


def stats(linode_id: int, label: str, created: float, now: float, delay: float) -> dict[str, Any]:
    if now - created < delay:
        raise LinodeApiError(400, STATS_UNAVAILABLE)
    return {
        "data": series(linode_id, sample_times(created, now)),
        "title": f"linode.com - {label} (linode{linode_id}) - day (5 min avg)",
    }


def transfer(used_bytes: int, quota_gb: int) -> dict[str, Any]:
    used_gb = used_bytes / 1_000_000_000
    return {"used": used_bytes, "quota": quota_gb, "billable": max(0, math.ceil(used_gb - quota_gb))}
