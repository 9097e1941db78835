"""Well-formed OpenSSH public keys for tests: the bot's key check parses them, so made-up strings won't do."""

from __future__ import annotations

import base64
import hashlib
import struct


def ssh_key(name: str = "alice") -> str:
    """An ed25519 public key line whose 32 key bytes are derived from `name` (stable across runs)."""
    key_type = b"ssh-ed25519"
    material = hashlib.sha256(name.encode()).digest()
    blob = struct.pack(">I", len(key_type)) + key_type + struct.pack(">I", len(material)) + material
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {name}@example.com"
