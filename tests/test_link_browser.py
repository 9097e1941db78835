"""A real browser (Debian's headless Chromium via Selenium) links an account on the running test bot.

This proves what HTTP-level tests cannot: the page works in a browser with its strict
Content-Security-Policy, SameSite=Strict cookie and plain HTML form, with no JavaScript.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator
from bot.rendering.pages import SUCCESS_MESSAGE
from tests.conftest import RunningBot
from tests.test_link_page import identity_of, link_path, new_person

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: Selenium drives Chromium through chromedriver: both must be there, or the test cannot run at all.
MISSING = [str(binary) for binary in (CHROMIUM, CHROMEDRIVER) if not binary.exists()]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"needs {' and '.join(MISSING)} (Debian's chromium and chromium-driver; .ci/run installs both)",
)


def sign_in_with_chromium(url: str, email: str | None, password: str) -> tuple[str, str, str, str]:
    """Open the page, fill the form like a person and submit; the browser itself refuses to submit
    before the confirmation is ticked. Returns (prefilled email, form text, heading, result text)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    with tempfile.TemporaryDirectory(prefix="csbot-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
        try:
            driver.set_page_load_timeout(30)
            driver.get(url)
            email_field = driver.find_element(By.ID, "email")
            prefilled = email_field.get_attribute("value") or ""
            if email is not None:
                email_field.clear()
                email_field.send_keys(email)
            driver.find_element(By.ID, "password").send_keys(password)
            form_text = driver.find_element(By.TAG_NAME, "main").text
            submit = driver.find_element(By.CSS_SELECTOR, "button[type=submit]")
            submit.click()  # not ticked yet: the required checkbox keeps the form on the page
            confirm = driver.find_element(By.ID, "confirm")
            assert confirm.get_attribute("validationMessage"), "the browser should ask for the confirmation"
            confirm.click()
            submit.click()
            WebDriverWait(driver, 20).until(expected_conditions.title_contains("Account linked"))
            heading = driver.find_element(By.TAG_NAME, "h1").text
            return prefilled, form_text, heading, driver.find_element(By.TAG_NAME, "main").text
        finally:
            driver.quit()


async def test_a_person_links_their_account_in_a_real_browser(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    url = bot.url + await link_path(engine, slack_user_id)
    prefilled, form_text, heading, text = await asyncio.to_thread(sign_in_with_chromium, url, None, user.password)
    assert prefilled == user.email  # from the Slack profile, submitted unchanged
    assert "Slack user @" in form_text and "in workspace ContainerStacks" in form_text
    assert heading == "Account linked"
    assert SUCCESS_MESSAGE.format(name=user.name, email=user.email) in text
    assert await identity_of(engine, slack_user_id) == {"user_id": user.id, "linked_via": "password"}
