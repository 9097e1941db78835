"""Background work that runs outside HTTP requests: outbox delivery and housekeeping."""

from __future__ import annotations
