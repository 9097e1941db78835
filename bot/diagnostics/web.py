"""PUBLIC_URL: Slack, PayPal and browsers reach the bot there over https."""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

from bot.diagnostics.findings import Context, Finding, failed, passed, skipped
from bot.services.limitations import is_local

#: A missing or slow proxy must not hang the doctor.
TIMEOUT_SECONDS = 5.0
FIX = "start `csbot serve` and check that the TLS proxy forwards PUBLIC_URL to it (docs/operations.md)"


async def public_url(ctx: Context) -> Finding:
    url = ctx.settings.public_url.rstrip("/")
    if is_local(url):
        return skipped("PUBLIC_URL", f"{url} is local: Slack and PayPal cannot reach it")
    if urlsplit(url).scheme != "https":
        return failed("PUBLIC_URL", f"{url} is not https", "serve the bot behind TLS and set PUBLIC_URL to https://…")
    try:
        async with ctx.http.get(
            url + "/healthz", timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS), allow_redirects=False
        ) as response:
            status = response.status
    except aiohttp.ClientSSLError as exc:
        return failed("PUBLIC_URL", f"{url}: TLS certificate not accepted ({type(exc).__name__})", FIX)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return failed("PUBLIC_URL", f"{url}/healthz: {type(exc).__name__}: {exc or 'no answer'}", FIX)
    if status != 200:
        return failed("PUBLIC_URL", f"{url}/healthz answered HTTP {status}", FIX)
    return passed("PUBLIC_URL", f"{url}/healthz answers over https")
