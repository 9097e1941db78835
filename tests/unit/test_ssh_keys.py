"""SSH public keys are proven to be keys before linode-api4 sees them (it reads other strings as files)."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from bot.linode.keys import InvalidSshKey, validate_public_key


def key_line(key_type: str = "ssh-ed25519", embedded: str | None = None, comment: str = "me@laptop") -> str:
    embedded_type = (embedded or key_type).encode()
    material = hashlib.sha256(b"key").digest()
    blob = struct.pack(">I", len(embedded_type)) + embedded_type + struct.pack(">I", len(material)) + material
    return f"{key_type} {base64.b64encode(blob).decode()} {comment}".strip()


def test_a_well_formed_key_is_normalised_to_one_line() -> None:
    line = key_line()
    assert validate_public_key(f"  {line}\n") == line
    assert validate_public_key(key_line("ecdsa-sha2-nistp256", comment="")).startswith("ecdsa-sha2-nistp256 ")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("/etc/passwd", "must start with one of"),
        ("~/.ssh/id_rsa.pub", "must start with one of"),
        ("ssh-ed25519", "no key data"),
        ("ssh-ed25519 not*base64!", "not valid base64"),
        (key_line("ssh-ed25519", embedded="ssh-rsa"), "does not match its type"),
        ("sk-ssh-ed25519@openssh.com AAAA", "must start with one of"),
        ("", "Paste a public key"),
    ],
)
def test_anything_that_is_not_a_public_key_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidSshKey, match=reason):
        validate_public_key(text)
