"""Unit tests: pure rules and renderers, no database or network."""

from __future__ import annotations
