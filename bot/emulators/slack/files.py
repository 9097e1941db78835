"""File uploads the way Slack takes them since files.upload was retired: three steps.

1. ``files.getUploadURLExternal`` (``filename``, ``length`` in bytes) answers an ``upload_url`` and
   a ``file_id``;
2. the client POSTs the bytes to that URL (raw, or as the ``file`` part of a multipart form): HTTP
   200 when exactly ``length`` bytes arrived, otherwise 400 and the upload is void;
3. ``files.completeUploadExternal`` (``files`` = ``[{id, title}]``, optional ``channel_id``,
   ``thread_ts``, ``initial_comment``) shares the file: it appears in the channel as a message
   carrying ``files``. An upload is completed once; an unknown, unsent or already completed file
   is ``file_not_found``.

The bytes are kept, so tests read back exactly what the bot uploaded.
"""

from __future__ import annotations

import copy
import itertools
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.emulators.slack.errors import SlackError
from bot.emulators.slack.state import Identity, Reach, World

MAX_FILE_BYTES = 1024 * 1024 * 1024  # Slack's own limit is 1 GB


@dataclass
class StoredFile:
    id: str
    upload_id: str
    filename: str
    length: int
    alt_txt: str | None
    created: int
    data: bytes | None = None
    title: str | None = None
    shared_in: tuple[str, ...] = ()
    completed: bool = False
    team_id: str | None = None
    """The team (or org) of the token that started the upload; no other install may complete it."""

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.filename)[0] or "application/octet-stream"

    def to_api(self, user: str, workspace_url: str) -> dict[str, Any]:
        extension = self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else "binary"
        url = f"{workspace_url}files/{user}/{self.id}/{self.filename}"
        body: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.filename,
            "title": self.title or self.filename,
            "mimetype": self.mimetype,
            "filetype": extension,
            "pretty_type": extension.upper(),
            "user": user,
            "mode": "hosted",
            "is_external": False,
            "is_public": False,
            "size": len(self.data or b""),
            "url_private": url,
            "url_private_download": url + "?download=1",
            "permalink": url,
            "channels": [c for c in self.shared_in if c.startswith("C")],
            "groups": [c for c in self.shared_in if c.startswith("G")],
            "ims": [c for c in self.shared_in if c.startswith("D")],
        }
        if self.alt_txt:
            body["alt_txt"] = self.alt_txt
        return body


class FileStore:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.files: dict[str, StoredFile] = {}
        self._by_upload: dict[str, str] = {}
        self._ids = itertools.count(1)

    def start(self, args: dict[str, Any], team_id: str | None = None) -> StoredFile:
        filename = str(args.get("filename") or "").strip()
        try:
            length = int(args.get("length"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            length = -1
        if not filename or not 0 < length <= MAX_FILE_BYTES:
            raise SlackError("invalid_arguments")
        n = next(self._ids)
        stored = StoredFile(f"F0UPLOAD{n:05d}", f"u{n:05d}", filename, length,
                            str(args["alt_txt"]) if args.get("alt_txt") else None, int(self._clock()),
                            team_id=team_id)  # fmt: skip
        self.files[stored.id] = stored
        self._by_upload[stored.upload_id] = stored.id
        return stored

    def receive(self, upload_id: str, data: bytes) -> tuple[int, str]:
        """The POST to an upload URL: (HTTP status, body)."""
        file_id = self._by_upload.get(upload_id)
        stored = self.files.get(file_id or "")
        if stored is None or stored.completed:
            return 404, "not_found"
        if len(data) != stored.length:
            return 400, f"size mismatch: expected {stored.length} bytes, received {len(data)}"
        stored.data = data
        return 200, f"OK - {len(data)}"

    def complete(
        self,
        world: World,
        args: dict[str, Any],
        files: Any,
        *,
        identity: Identity | None = None,
        reach: Reach = None,
    ) -> list[dict[str, Any]]:
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
            raise SlackError("invalid_arguments")
        chosen = []
        for entry in files:
            stored = self.files.get(str(entry["id"]))
            foreign = reach is not None and stored is not None and stored.team_id not in reach
            if stored is None or stored.data is None or stored.completed or foreign:
                raise SlackError("file_not_found")
            chosen.append((stored, entry))
        channel = world.postable_channel(args.get("channel_id"), reach) if args.get("channel_id") else None
        author = world.bot_author(identity)
        for stored, entry in chosen:
            stored.completed = True
            stored.title = str(entry.get("title") or stored.filename)
            if channel is not None:
                stored.shared_in = (channel.id,)
        shared = [s.to_api(author["user"], (identity or world.identity).workspace_url) for s, _ in chosen]
        if channel is not None:
            content = {"text": str(args.get("initial_comment") or ""), "files": copy.deepcopy(shared), "upload": True,
                       "display_as_bot": False}  # fmt: skip
            world.post(channel, content, author=author, thread_ts=args.get("thread_ts") or None)
        return shared

    def in_channel(self, channel_id: str) -> list[StoredFile]:
        return [f for f in self.files.values() if channel_id in f.shared_in]
