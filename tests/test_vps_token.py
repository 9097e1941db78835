"""The Linode token: LINODE_API_TOKEN, else the active linode service_providers row, stored as the
panel stores it (the AES-256-GCM envelope since SkyPanelV2, plaintext before)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import crypto
from bot.emulators.linode import LinodeEmulator
from bot.emulators.slack import SlackEmulator
from bot.linode.errors import LinodeError, LinodeFailure
from bot.services import vps
from tests.conftest import make_settings
from tests.vps_fixtures import SSH_CRED_SECRET, linode_fixture  # noqa: F401 - fixture


def panel_envelope(plaintext: str, secret: str) -> str:
    """Built independently with `cryptography` per the documented algorithm (Q1), not with bot.crypto."""
    iv = os.urandom(12)
    sealed = AESGCM(hashlib.sha256(secret.encode()).digest()).encrypt(iv, plaintext.encode(), None)
    document = {"iv": base64.b64encode(iv).decode(), "tag": base64.b64encode(sealed[-16:]).decode(),
                "ciphertext": base64.b64encode(sealed[:-16]).decode()}  # fmt: skip
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.fixture
async def provider_row(engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """Stored api_key_encrypted values to try, newest wins; deactivated afterwards for other tests."""
    ids: list[str] = []
    yield ids
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE service_providers SET active = false WHERE id::text = ANY(:ids)"), {"ids": ids})


async def store_key(engine: AsyncEngine, ids: list[str], stored: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE service_providers SET active = false WHERE type = 'linode'"))
        new_id = (
            await conn.execute(
                text(
                    "INSERT INTO service_providers (name, type, api_key_encrypted, configuration, active) "
                    "VALUES ('Linode', 'linode', :k, '{}', true) RETURNING id::text"
                ),
                {"k": stored},
            )
        ).scalar_one()
    ids.append(new_id)


async def test_token_comes_from_the_encrypted_provider_row_when_the_setting_is_unset(
    database_url: str, slack: SlackEmulator, linode: LinodeEmulator, engine: AsyncEngine, provider_row: list[str]
) -> None:
    settings = make_settings(database_url, slack, linode_api_url=linode.base_url, ssh_cred_secret=SSH_CRED_SECRET)
    gateway = vps.build_gateway(
        settings, engine, retry_interval=0.01, catalogue_ttl_seconds=0
    )  # every read calls Linode
    try:
        assert not await gateway.configured()
        with pytest.raises(LinodeError) as missing:
            await gateway.regions()
        assert missing.value.category is LinodeFailure.NOT_CONFIGURED

        for stored in (
            crypto.encrypt(linode.token, SSH_CRED_SECRET),  # as the bot (and the panel) encrypts
            panel_envelope(linode.token, SSH_CRED_SECRET),  # an independently built vector
            linode.token,  # legacy ContainerStacks plaintext
        ):
            await store_key(engine, provider_row, stored)
            before = len(linode.calls)
            assert len(await gateway.regions()) == 11
            assert linode.calls[before].headers["authorization"] == f"Bearer {linode.token}"

        await store_key(engine, provider_row, crypto.encrypt(linode.token, "a-different-secret-0123456789"))
        assert not await gateway.configured()  # an envelope that does not open is never used as a token
    finally:
        gateway.close()


async def test_a_rejected_token_is_an_auth_error_with_a_friendly_message(
    database_url: str, slack: SlackEmulator, linode: LinodeEmulator, engine: AsyncEngine
) -> None:
    settings = make_settings(database_url, slack, linode_api_url=linode.base_url, linode_api_token="wrong-token")
    gateway = vps.build_gateway(
        settings, engine, retry_interval=0.01, catalogue_ttl_seconds=0
    )  # every read calls Linode
    try:
        with pytest.raises(LinodeError) as rejected:
            await gateway.regions()
    finally:
        gateway.close()
    assert rejected.value.category is LinodeFailure.AUTH and rejected.value.status == 401
    assert "Staff have been alerted" in rejected.value.message
