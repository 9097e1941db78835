"""pyproject.toml in the form current setuptools accepts without deprecation warnings."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_an_spdx_expression_with_a_setuptools_that_reads_it() -> None:
    """A `license = {text = …}` table makes setuptools ≥ 77 warn three times on every install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert isinstance(project["project"]["license"], str)
    assert re.fullmatch(r"LicenseRef-[A-Za-z0-9.-]+", project["project"]["license"])
    assert not any(c.startswith("License ::") for c in project["project"].get("classifiers", []))
    setuptools = next(r for r in project["build-system"]["requires"] if r.startswith("setuptools"))
    minimum = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", setuptools)
    assert minimum is not None and int(minimum.group(1)) >= 77
