"""The bot's small exception family. A subclass's docstring is its default user-facing message."""

from __future__ import annotations


class BotError(Exception):
    """Something went wrong."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self)


class UserError(BotError):
    """That request cannot be done as asked."""


class DatabaseNotReady(BotError):
    """The database is not reachable or not migrated yet."""


class MigrationError(BotError):
    """The database could not be migrated."""
