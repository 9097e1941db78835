"""A server's last 24 hours (CPU, network in/out, disk I/O) from Linode's statistics: the numbers the
panel shows (average, peak and last of each series, as its `summarizeSeries`) and the chart.

Linode has no statistics for a few minutes after a server is created (it answers "Stats are
unavailable at this time."): that is said plainly instead of an empty picture. The chart is a spec
the outbox draws when it shares the file, with the series exactly as Linode gave them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.linode.gateway import LinodeGateway
from bot.services import deliveries, vps
from bot.services.identity import Actor
from bot.services.server_common import linode_call
from bot.settings import Settings

NOT_YET = (
    "Linode has no statistics for {label} yet: they start a few minutes after a server is created. "
    "Try again in about five minutes."
)


@dataclass(frozen=True)
class Summary:
    average: float
    peak: float
    last: float


@dataclass(frozen=True)
class Stats:
    server_id: uuid.UUID
    label: str
    available: bool
    cpu: Summary | None = None
    net_in: Summary | None = None
    net_out: Summary | None = None
    disk: Summary | None = None
    points: int = 0
    chart: dict[str, Any] | None = None
    destination: deliveries.Destination | None = None  # where the chart goes (the caller shares it)

    @property
    def file(self) -> dict[str, Any] | None:
        """The chart as a file to share (None while Linode has no statistics)."""
        if self.chart is None:
            return None
        text = describe(self)
        return deliveries.file_payload(filename=f"{self.label}-24h.png", title=self.chart["title"], comment=text,
                                       chart=self.chart, alt_text=text)  # fmt: skip


def _points(raw: Any) -> list[tuple[float, float]]:
    """Well-formed ``[ms, value]`` pairs only, as the panel's `normalizeSeries`."""
    found = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, list | tuple) and len(item) >= 2 and all(isinstance(v, int | float) for v in item[:2]):
            found.append((float(item[0]), float(item[1])))
    return found


def summarize(points: list[tuple[float, float]]) -> Summary:
    if not points:
        return Summary(0.0, 0.0, 0.0)
    values = [v for _, v in points]
    return Summary(sum(values) / len(values), max(values), values[-1])


def _series(name: str, points: list[tuple[float, float]]) -> dict[str, Any]:
    return {"name": name, "x": [t / 1000 for t, _ in points], "y": [v for _, v in points]}


def chart(label: str, data: dict[str, Any]) -> dict[str, Any]:
    netv4 = data.get("netv4") or {}
    io = data.get("io") or {}
    return {
        "kind": "lines",
        "title": f"{label}: last 24 hours",
        "panels": [
            {"title": "CPU", "unit": "%", "series": [_series("cpu", _points(data.get("cpu")))]},
            {"title": "Network (IPv4)", "unit": "bits/s",
             "series": [_series("in", _points(netv4.get("in"))), _series("out", _points(netv4.get("out")))]},
            {"title": "Disk I/O", "unit": "blocks/s",
             "series": [_series("io", _points(io.get("io"))), _series("swap", _points(io.get("swap")))]},
        ],
    }  # fmt: skip


async def last_day(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, label: str, *,
    channel_id: str | None,
) -> Stats:  # fmt: skip
    """Read Linode's statistics; the chart goes to a channel bound for server notices, else the DM (read only)."""
    view = await vps.find_server(engine, actor, label)
    if view.linode_id is None:
        return Stats(view.id, view.label, available=False)
    data = await linode_call(engine, settings, gateway.stats(view.linode_id))
    if data is None:
        return Stats(view.id, view.label, available=False)
    netv4 = data.get("netv4") or {}
    cpu = _points(data.get("cpu"))
    picture = chart(view.label, data)
    stats = Stats(
        view.id, view.label, available=True, cpu=summarize(cpu), net_in=summarize(_points(netv4.get("in"))),
        net_out=summarize(_points(netv4.get("out"))), disk=summarize(_points((data.get("io") or {}).get("io"))),
        points=len(cpu), chart=picture,
    )  # fmt: skip
    async with engine.connect() as conn:
        where = await deliveries.destination(conn, vps.in_org(actor), "vps", channel_id, actor.slack.user_id)
    return Stats(**{**stats.__dict__, "destination": where})


def mbps(bits: float) -> str:
    return f"{bits / 1_000_000:.2f} Mbps"


def describe(stats: Stats) -> str:
    """The numbers in words (the chart's fallback text and the file's comment)."""
    if not stats.available or stats.cpu is None or stats.net_in is None or stats.net_out is None or not stats.disk:
        return NOT_YET.format(label=stats.label)
    return (
        f"{stats.label}, last 24 hours: CPU average {stats.cpu.average:.1f}% (peak {stats.cpu.peak:.1f}%, "
        f"now {stats.cpu.last:.1f}%); network in {mbps(stats.net_in.average)} average (peak {mbps(stats.net_in.peak)}),"
        f" out {mbps(stats.net_out.average)} average (peak {mbps(stats.net_out.peak)}); disk I/O "
        f"{stats.disk.average:.1f} blocks/s average (peak {stats.disk.peak:.1f})."
    )
