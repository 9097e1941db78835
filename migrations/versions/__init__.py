"""Alembic revision scripts; a package so revisions (and their helpers) can be imported in tests."""

from __future__ import annotations
