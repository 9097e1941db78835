"""Panel account passwords the bot deals with: hashes the panel can verify, and published defaults.

The panel (bcryptjs) verifies `$2a$`/`$2b$` hashes; it writes `$2a$` at cost 12, and so do we. A
"published default" is a password printed in the panel's own migrations and documentation
(`admin123` for the seeded admin) or as common as one: an account that still has it belongs to
whoever has read the docs, so the bot refuses to link it and `csbot doctor` names it.
"""

from __future__ import annotations

import asyncio
import secrets

import bcrypt

#: Passwords anyone can guess for a panel account; compared exactly (case matters to bcrypt too).
KNOWN_DEFAULT_PASSWORDS: tuple[str, ...] = ("admin123", "admin", "password", "changeme")
#: The panel's cost for the hashes it writes.
PANEL_COST = 12
#: Length of generated passwords in URL-safe base64 characters (6 bits each: 144 bits).
GENERATED_CHARS = 24


def panel_hash(password: str, *, cost: int = PANEL_COST) -> str:
    """A bcryptjs-style `$2a$` hash of `password`, as the panel stores it."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()
    return hashed.replace("$2b$", "$2a$", 1)


def generate_password() -> str:
    """A strong random password a person can still copy from a terminal (letters, digits, - and _)."""
    return secrets.token_urlsafe(GENERATED_CHARS * 3 // 4)


def is_known_default(password: str) -> bool:
    return password in KNOWN_DEFAULT_PASSWORDS


def _hash_is_known_default(password_hash: str) -> bool:
    stored = password_hash.encode()
    for candidate in KNOWN_DEFAULT_PASSWORDS:
        try:
            if bcrypt.checkpw(candidate.encode(), stored):
                return True
        except ValueError:  # not a bcrypt hash: nobody can sign in with a password at all
            return False
    return False


async def hash_is_known_default(password_hash: str) -> bool:
    """Whether the stored hash verifies one of the published defaults (bcrypt, in a worker thread)."""
    return await asyncio.to_thread(_hash_is_known_default, password_hash)
