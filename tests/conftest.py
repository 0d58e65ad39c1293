"""Shared fixtures.  The facts we test against are typed into the tests themselves."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "grader" / "samples"


def tex_available() -> bool:
    return shutil.which("latexmk") is not None and shutil.which("pdflatex") is not None


@pytest.fixture
def require_tex() -> None:
    """Skip without TeX on a user's machine; under CI=true TeX must be there."""
    if not tex_available():
        if os.environ.get("CI") == "true":
            pytest.fail("TeX is not installed, and under CI=true TeX tests must run")
        pytest.skip("TeX (latexmk, pdflatex) is not installed")


@pytest.fixture
def canonical_yaml() -> Path:
    return SAMPLES / "canonical.yaml"
