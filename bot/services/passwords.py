"""Strong generated root passwords: never shown, never logged, only stored as the encrypted envelope."""

from __future__ import annotations

import secrets
import string

LENGTH = 32
_SYMBOLS = "-_.+=!@#%^*"
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, _SYMBOLS)
_ALPHABET = "".join(_CLASSES)


def generate_root_password(length: int = LENGTH) -> str:
    """At least one of each character class (Linode's strength check wants a mix), from `secrets`."""
    if length < len(_CLASSES) * 2:
        raise ValueError("root passwords need at least 8 characters")
    chars = [secrets.choice(group) for group in _CLASSES]
    chars += [secrets.choice(_ALPHABET) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)
