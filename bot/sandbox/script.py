"""Playing a scripted conversation: each line is what a person would type, echoed with the prompt.

``#`` lines are comments and blank lines are skipped; ``:expect <text>`` asserts that the previous
output contains ``<text>``. The exit status is 1 when any expectation failed, so CI can run a tour.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.sandbox.console import Console


class ScriptReader:
    """The script's lines, also answering a console prompt (``:fill`` with no arguments)."""

    def __init__(self, lines: list[str], write: Callable[[str], None]) -> None:
        self._lines = lines
        self._write = write
        self._index = 0

    def next_line(self) -> str | None:
        while self._index < len(self._lines):
            line = self._lines[self._index].rstrip("\n")
            self._index += 1
            if line.strip() and not line.lstrip().startswith("#"):
                return line
        return None

    async def read(self, prompt: str) -> str | None:
        line = self.next_line()
        if line is not None:
            self._write(prompt + line)
        return line


def load_script(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


async def play(console: Console, lines: list[str], write: Callable[[str], None]) -> int:
    """Run every line through ``console``; 0 when all expectations held, 1 otherwise."""
    reader = ScriptReader(lines, write)
    while (line := reader.next_line()) is not None:
        write("")
        write(console.prompt() + line)
        if not await console.handle(line, reader.read):
            break
    write("")
    if console.failures:
        write(f"{console.failures} expectation(s) failed.")
        return 1
    write("Script finished; every expectation held.")
    return 0
