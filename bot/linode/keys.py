"""SSH public key validation, done before a key reaches linode-api4.

The SDK's ``load_and_validate_keys`` treats any entry that does not start with a known key type as
a *file path on our server* and reads it, so user input must be proven to be a key first.
"""

from __future__ import annotations

import base64
import binascii
import struct

#: Key types Linode (and the SDK) accept; ``sk-…`` security-key types are rejected by the SDK.
KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
)
MAX_KEY_CHARS = 16_384


class InvalidSshKey(ValueError):
    """That is not an SSH public key."""


def validate_public_key(text: str) -> str:
    """The key as one normalised line (``type base64 [comment]``), or ``InvalidSshKey`` saying why."""
    line = " ".join(text.split())
    if not line:
        raise InvalidSshKey("Paste a public key, e.g. the contents of ~/.ssh/id_ed25519.pub.")
    if len(line) > MAX_KEY_CHARS:
        raise InvalidSshKey("That key is too long to be an SSH public key.")
    parts = line.split(" ", 2)
    key_type = parts[0]
    if key_type not in KEY_TYPES:
        raise InvalidSshKey("That is not an SSH public key. It must start with one of: " + ", ".join(KEY_TYPES) + ".")
    if len(parts) < 2:
        raise InvalidSshKey("The key has a type but no key data after it.")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSshKey("The key data is not valid base64.") from exc
    if _embedded_type(blob) != key_type:
        raise InvalidSshKey("The key data does not match its type; copy the whole line from the .pub file.")
    return line


def _embedded_type(blob: bytes) -> str | None:
    """The key type encoded at the start of the key blob (a length-prefixed string)."""
    if len(blob) < 4:
        return None
    (length,) = struct.unpack(">I", blob[:4])
    if length > 64 or len(blob) < 4 + length + 4:
        return None
    try:
        return blob[4 : 4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None
