"""The panel's AES-256-GCM envelope: our encrypt/decrypt against vectors built independently."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bot import crypto

SECRET = "panel-ssh-cred-secret-0123456789"


def panel_envelope(plaintext: str, secret: str, iv: bytes) -> str:
    """What api/lib/crypto.ts stores, rebuilt from the documented algorithm (not from bot.crypto)."""
    key = hashlib.sha256(secret.encode("utf-8")).digest()
    sealed = AESGCM(key).encrypt(iv, plaintext.encode("utf-8"), None)
    document = {
        "iv": base64.b64encode(iv).decode(),
        "tag": base64.b64encode(sealed[-16:]).decode(),
        "ciphertext": base64.b64encode(sealed[:-16]).decode(),
    }
    return base64.b64encode(json.dumps(document).encode("utf-8")).decode()


def test_decrypt_opens_an_envelope_built_with_the_documented_algorithm() -> None:
    envelope = panel_envelope("Root-Pass-Ünïcode-42", SECRET, bytes(range(12)))
    assert crypto.decrypt(envelope, SECRET) == "Root-Pass-Ünïcode-42"


def test_encrypt_output_opens_with_plain_aesgcm_and_uses_a_fresh_iv_each_time() -> None:
    first, second = crypto.encrypt("s3cret", SECRET), crypto.encrypt("s3cret", SECRET)
    assert first != second
    document = json.loads(base64.b64decode(first))
    assert set(document) == {"iv", "tag", "ciphertext"}
    iv, tag, body = (base64.b64decode(document[k]) for k in ("iv", "tag", "ciphertext"))
    assert len(iv) == 12 and len(tag) == 16
    key = hashlib.sha256(SECRET.encode()).digest()
    assert AESGCM(key).decrypt(iv, body + tag, None) == b"s3cret"


def test_decrypt_with_the_wrong_secret_or_a_tampered_tag_is_an_envelope_error() -> None:
    envelope = crypto.encrypt("token", SECRET)
    with pytest.raises(crypto.EnvelopeError):
        crypto.decrypt(envelope, "another-secret-0123456789")
    document = json.loads(base64.b64decode(envelope))
    document["tag"] = base64.b64encode(b"\0" * 16).decode()
    with pytest.raises(crypto.EnvelopeError):
        crypto.decrypt(base64.b64encode(json.dumps(document).encode()).decode(), SECRET)


def test_provider_token_is_decrypted_when_an_envelope_and_kept_when_legacy_plaintext() -> None:
    assert crypto.decrypt_or_plaintext(crypto.encrypt("linode-tok", SECRET), SECRET) == "linode-tok"
    assert crypto.decrypt_or_plaintext("  plain-legacy-token  ", SECRET) == "plain-legacy-token"
    with pytest.raises(crypto.EnvelopeError):
        crypto.decrypt_or_plaintext(crypto.encrypt("linode-tok", SECRET), None)
