"""Headless Chromium for the answer page tests (selenium, Debian's chromium-driver)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import under_ci

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def browser_available() -> bool:
    return all(shutil.which(p) or Path(p).is_file() for p in (CHROMIUM, CHROMEDRIVER))


def require_browser() -> None:
    """Skip without Chromium on a user's machine; under CI the browser tests must run."""
    if not browser_available():
        if under_ci():
            pytest.fail(
                f"{CHROMIUM} or {CHROMEDRIVER} is missing, and under CI the browser tests must run"
            )
        pytest.skip("Chromium or chromedriver is not installed")


def start_chromium(downloads: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # headless Chrome needs to be told where downloads go (the prefs alone are not enough)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    return driver


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require_browser()
    downloads = tmp_path_factory.mktemp("downloads")
    driver = start_chromium(downloads)
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()
