"""Reading a PNG back the way any viewer would: the signature, the IHDR size, the text chunks."""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Png:
    width: int
    height: int
    texts: dict[str, str]

    @property
    def plotted(self) -> dict[str, Any]:
        """The series the chart says it drew (the bot writes them into a Description chunk)."""
        return json.loads(self.texts["Description"])


def read_png(data: bytes) -> Png:
    assert data[:8] == SIGNATURE, "not a PNG"
    position, width, height, texts = 8, 0, 0, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            texts[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _translated, _, value = rest.partition(b"\0")
            texts[key.decode("latin-1")] = (zlib.decompress(value) if compressed else value).decode()
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            texts[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        position += 12 + length
        if kind == b"IEND":
            break
    return Png(width, height, texts)
