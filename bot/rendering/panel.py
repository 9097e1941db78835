"""The "Open in panel" button (pure). A link button still sends a click, which the generic
`open_url_` listener acknowledges; it changes nothing."""

from __future__ import annotations

from typing import Any

OPEN_IN_PANEL = "Open in panel"
ACTION_PREFIX = "open_url_panel_"


def panel_button(url: str, what: str) -> dict[str, Any]:
    """A link button to `url`; `what` makes its action id unique in a message (`server`, `billing`…)."""
    return {
        "type": "button",
        "action_id": f"{ACTION_PREFIX}{what}"[:255],
        "text": {"type": "plain_text", "text": OPEN_IN_PANEL},
        "url": url,
    }
