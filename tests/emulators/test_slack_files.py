"""File uploads through slack-sdk's real ``files_upload_v2`` against the emulator: the three steps,
the recorded bytes, the message in the channel, and the refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.emulators.slack import SlackEmulator

TOKEN = "xoxb-test-token"
CHANNEL = "C0FILES01"


@pytest.fixture
async def em() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        emulator.add_user("U0ALICE", name="alice")
        emulator.add_channel(CHANNEL, name="files", members=["U0ALICE"])
        emulator.add_channel("C0NOTIN", name="private", is_private=True, bot_is_member=False)
        yield emulator


@pytest.fixture
def client(em: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=em.api_url)


async def test_files_upload_v2_stores_the_bytes_and_shares_them_in_the_channel(
    em: SlackEmulator, client: AsyncWebClient
) -> None:
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    result = await client.files_upload_v2(channel=CHANNEL, content=data, filename="cpu.png", title="CPU",
                                          alt_txt="CPU 12%", initial_comment="Last 24 hours")  # fmt: skip
    assert result["file"]["name"] == "cpu.png" and result["file"]["mimetype"] == "image/png"
    assert [c.method for c in em.calls] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert em.calls_to("files.getUploadURLExternal")[0].args["length"] in (len(data), str(len(data)))
    [stored] = em.files(CHANNEL)
    assert stored.data == data and stored.title == "CPU" and stored.alt_txt == "CPU 12%"
    [message] = em.channel_messages(CHANNEL)
    assert message["text"] == "Last 24 hours" and message["files"][0]["id"] == stored.id
    assert message["user"] == em.identity.bot_user_id


async def test_a_completed_upload_cannot_be_completed_again_and_unknown_files_are_not_found(
    em: SlackEmulator, client: AsyncWebClient
) -> None:
    result = await client.files_upload_v2(channel=CHANNEL, content=b"<html></html>", filename="inv.html")
    file_id = result["file"]["id"]
    for files in ([{"id": file_id}], [{"id": "F0NOPE"}]):
        with pytest.raises(SlackApiError) as caught:
            await client.files_completeUploadExternal(files=files, channel_id=CHANNEL)
        assert caught.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as caught:
        await client.files_getUploadURLExternal(filename="x.png", length=0)
    assert caught.value.response["error"] == "invalid_arguments"


async def test_a_wrong_size_upload_is_refused_and_a_channel_the_bot_is_not_in_is_refused(
    em: SlackEmulator, client: AsyncWebClient
) -> None:
    ticket = await client.files_getUploadURLExternal(filename="a.png", length=10)
    async with aiohttp.ClientSession() as session, session.post(ticket["upload_url"], data=b"short") as response:
        assert response.status == 400
    with pytest.raises(SlackApiError) as caught:
        await client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id=CHANNEL)
    assert caught.value.response["error"] == "file_not_found"
    with pytest.raises((SlackApiError, SlackRequestError)) as refused:
        await client.files_upload_v2(channel="C0NOTIN", content=b"abc", filename="a.txt")
    assert isinstance(refused.value, SlackApiError) and refused.value.response["error"] == "not_in_channel"
    assert em.channel_messages(CHANNEL) == []
