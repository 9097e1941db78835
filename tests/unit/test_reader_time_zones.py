"""Times in what a user reads are in that reader's own time zone: every renderer, fed real datetimes,
writes them as Slack's `<!date^…>` token (its UTC fallback says so). Plain "UTC" appears only where a
period is defined in UTC (billing months, report periods) and says so."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.rendering.dates import ago, local_date, local_time
from tests.unit.test_rendering_escapes import SWEPT, call

#: Reports whose periods are defined in UTC: they may (and do) say so.
DEFINED_IN_UTC = {
    "billing.daily_summary",
    "billing.weekly_staff_summary",
    "billing.month_usage_card",
    "billing.admin_billing_card",
    "server_page.schedule_modal",  # Linode's backup windows are two-hour slots of the UTC day
}
TOKEN = re.compile(r"<!date\^\d+\^[^|>]+\|[^>]*>")


def test_a_date_token_is_in_the_readers_zone_with_a_utc_fallback_that_says_so() -> None:
    moment = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    stamp = int(moment.timestamp())
    assert local_time(moment) == f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|2026-03-01 23:30 UTC>"
    assert local_date(moment) == f"<!date^{stamp}^{{date_short_pretty}}|2026-03-01 (UTC)>"
    assert ago(datetime(2026, 3, 1, 23, 30)) == f"<!date^{stamp}^{{ago}}|2026-03-01 23:30 UTC>"  # naive is UTC


@pytest.mark.parametrize(("name", "function"), SWEPT, ids=[name for name, _ in SWEPT])
def test_no_renderer_states_a_time_in_utc_outside_slacks_date_token(name: str, function: Callable[..., Any]) -> None:
    result = call(function)
    if not isinstance(result, dict) or name in DEFINED_IN_UTC:
        return
    readable = TOKEN.sub("", json.dumps(result, ensure_ascii=False, default=str))
    assert not re.search(r"\bUTC\b|\d{4}-\d{2}-\d{2} \d{2}:\d{2}", readable), f"{name}: {readable[:400]}"
