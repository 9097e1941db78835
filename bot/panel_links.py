"""Deep links into the ContainerStacks panel's own pages, for "Open in panel" buttons.

The paths are the routes of the panel's router (its `src/App.tsx`): a server has its own page
(`/vps/<id>`, the `vps_instances` id); wallet, top-ups and transactions live on `/billing`; the
customer's tickets on `/support` and staff's on `/admin` (neither page opens one ticket by URL: they
select it in place). Neutral ground like `bot.money`: services and renderers may both use it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class PanelLinks:
    """The panel at `base` (validated `PANEL_URL`, no trailing slash)."""

    base: str

    def server(self, server_id: uuid.UUID) -> str:
        return f"{self.base}/vps/{server_id}"

    def billing(self) -> str:
        """Wallet balance, top-ups, transactions and invoices."""
        return f"{self.base}/billing"

    def tickets(self) -> str:
        """The customer's Support page (tickets are opened from its list)."""
        return f"{self.base}/support"

    def staff_tickets(self) -> str:
        """Staff's Admin page, where the panel's own ticket desk is."""
        return f"{self.base}/admin"


def panel_links(panel_url: str | None) -> PanelLinks | None:
    """None when `PANEL_URL` is unset: then no "Open in panel" button is shown anywhere."""
    return PanelLinks(panel_url.rstrip("/")) if panel_url else None
