"""The REST app's webhook subscriptions, as `GET /v1/notifications/webhooks[/{id}]` shows them.

A subscription is a URL and the event types it listens to; its id is what PAYPAL_WEBHOOK_ID names and
what every delivery is signed for. The emulator only lists and shows them (the dashboard creates them);
`csbot doctor` reads them to check that the configured id exists and points at the bot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.emulators.paypal.resources import link

ALL_EVENTS = "*"


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    event_types: tuple[str, ...]

    def to_api(self, base_url: str) -> dict[str, Any]:
        """The `webhook` schema of notifications_webhooks_v1: id, url, event_types and HATEOAS links."""
        href = f"{base_url}/v1/notifications/webhooks/{self.id}"
        return {
            "id": self.id,
            "url": self.url,
            "event_types": [{"name": name, "description": _describe(name)} for name in self.event_types],
            "links": [link(href, "self"), link(href, "update", "PATCH"), link(href, "delete", "DELETE")],
        }


def _describe(name: str) -> str:
    if name == ALL_EVENTS:
        return "ALL"
    return name.replace(".", " ").replace("-", " ").capitalize() + "."
