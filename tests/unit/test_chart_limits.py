"""Charts at the sizes customers reach: 250 servers with labels as long as the panel allows still draw
(matplotlib's layout collapsed under the legend, a warning the suite treats as an error)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from bot.db.spend import DaySpend
from bot.rendering.charts import MAX_BAR_SERIES, MAX_NAME, MAX_TITLE, bounded, draw
from bot.services.spend_chart import month_chart

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_month_of_250_servers_with_long_labels_draws_with_a_legend_that_fits() -> None:
    rows = [
        DaySpend(day=date(2026, 12, day), server_id=server, label=f"web-{n} " + "&<db>" * 40, amount=Decimal("0.01"))
        for n, server in enumerate([uuid.uuid4() for _ in range(250)])
        for day in range(1, 8)
    ]
    spec = month_chart(rows, date(2026, 12, 1), date(2026, 12, 7), "Partner & <Hosting> of the North " * 8)
    drawn = bounded(spec)
    assert len(drawn["series"]) == MAX_BAR_SERIES + 1 and drawn["series"][-1]["name"] == "242 others"
    assert all(len(s["name"]) <= MAX_NAME for s in drawn["series"]) and len(drawn["title"]) <= MAX_TITLE
    assert drawn["series"][0]["name"].endswith("…")
    assert draw(spec).startswith(PNG)
