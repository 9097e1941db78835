"""The panel's secret envelope (``api/lib/crypto.ts``): AES-256-GCM, readable by the panel and the bot.

Key: SHA-256 of ``SSH_CRED_SECRET`` (UTF-8). Each value gets a random 12-byte IV; the 16-byte tag is
kept apart from the ciphertext, and the stored string is standard base64 of the UTF-8 JSON object
``{"iv", "tag", "ciphertext"}`` whose fields are standard base64 too. No associated data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

IV_BYTES = 12
TAG_BYTES = 16


class EnvelopeError(ValueError):
    """The value is an envelope but cannot be decrypted with this key (wrong secret or tampered)."""


def derive_key(secret: str) -> bytes:
    """The 32-byte AES key: SHA-256 of the secret's UTF-8 bytes."""
    return hashlib.sha256(secret.encode()).digest()


def encrypt(plaintext: str, secret: str) -> str:
    """Seal ``plaintext`` in a new envelope (a fresh random IV every time)."""
    iv = os.urandom(IV_BYTES)
    sealed = AESGCM(derive_key(secret)).encrypt(iv, plaintext.encode(), None)
    ciphertext, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    document = {
        "iv": base64.b64encode(iv).decode(),
        "tag": base64.b64encode(tag).decode(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }
    return base64.b64encode(json.dumps(document).encode()).decode()


def parse_envelope(value: str) -> tuple[bytes, bytes, bytes] | None:
    """(iv, tag, ciphertext) if ``value`` has the envelope's shape, else None (e.g. a plaintext token)."""
    try:
        document = json.loads(base64.b64decode(value.strip(), validate=True))
        parts = tuple(base64.b64decode(document[name], validate=True) for name in ("iv", "tag", "ciphertext"))
    except (ValueError, binascii.Error, TypeError, KeyError, UnicodeDecodeError):
        return None
    iv, tag, ciphertext = parts
    if len(iv) != IV_BYTES or len(tag) != TAG_BYTES:
        return None
    return iv, tag, ciphertext


def decrypt(envelope: str, secret: str) -> str:
    """Open an envelope; raises ``EnvelopeError`` if it is not one or the key does not fit."""
    parts = parse_envelope(envelope)
    if parts is None:
        raise EnvelopeError("not an encrypted envelope")
    iv, tag, ciphertext = parts
    try:
        return AESGCM(derive_key(secret)).decrypt(iv, ciphertext + tag, None).decode()
    except (InvalidTag, UnicodeDecodeError) as exc:
        raise EnvelopeError("the envelope does not open with this secret") from exc


def decrypt_or_plaintext(value: str, secret: str | None) -> str:
    """A provider token as the panel stores it: an envelope, or legacy plaintext (ContainerStacks era).

    Like the panel (``providerTokens.ts``), a value that is not an envelope is plaintext, while an
    envelope that fails to open is an error, never silently used as a token.
    """
    if parse_envelope(value) is None:
        return value.strip()
    if secret is None:
        raise EnvelopeError("the token is encrypted but SSH_CRED_SECRET is not set")
    return decrypt(value, secret)
