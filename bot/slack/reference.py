"""Short reference ids that tie a user-visible error to its log line."""

from __future__ import annotations

import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: easy to read aloud


def new_reference() -> str:
    return "ERR-" + "".join(secrets.choice(ALPHABET) for _ in range(8))
