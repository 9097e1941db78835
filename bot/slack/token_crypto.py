"""Sealing the Slack tokens stored per installation (AES-256-GCM with SLACK_TOKEN_KEY).

Each value gets its own random nonce, and the associated data binds it to its row's enterprise,
team and purpose: a sealed token copied onto another workspace's row (or from the refresh column
into the access column) fails to open instead of posting into the wrong workspace. Without the key
the stored bytes say nothing; a lost key means every workspace must install the app again.
"""

from __future__ import annotations

import os
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: The first byte of every sealed value, so a later format can tell old values apart.
FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12

Purpose = Literal["bot_token", "bot_refresh_token"]


class TokenUnreadable(Exception):
    """The stored value does not open with this key for this row (wrong key, or a moved value)."""


class TokenCipher:
    """Seals and opens tokens; the key never leaves this object (nor its repr)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the token key must be 32 bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "TokenCipher(<key hidden>)"

    def seal(self, token: str, *, enterprise_id: str, team_id: str, purpose: Purpose) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, token.encode(), _bound_to(enterprise_id, team_id, purpose))
        return FORMAT_VERSION + nonce + sealed

    def open(self, sealed: bytes, *, enterprise_id: str, team_id: str, purpose: Purpose) -> str:
        if sealed[:1] != FORMAT_VERSION or len(sealed) < 1 + NONCE_BYTES + 16:
            raise TokenUnreadable("not a sealed token")
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, _bound_to(enterprise_id, team_id, purpose)).decode()
        except InvalidTag:
            raise TokenUnreadable("the token does not open with SLACK_TOKEN_KEY for this workspace") from None


def _bound_to(enterprise_id: str, team_id: str, purpose: Purpose) -> bytes:
    return f"csbot-slack/{purpose}/{enterprise_id}/{team_id}".encode()
