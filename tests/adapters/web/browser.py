"""A real headless Chromium (Debian's) driven by Selenium, and axe-core run inside the page.

The tests fail, never skip, when the browser or axe-core is missing: `scripts/browser.py
install` puts them in place (scripts/test.sh calls it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = ROOT / ".cache" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = (390, 844)
DESKTOP = (1280, 900)

# Chromium's own background traffic has nowhere to go here (no network but loopback).
QUIET = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--lang=fr-FR",
)


def chromium(profile: Path) -> webdriver.Chrome:
    for needed in (CHROMIUM, CHROMEDRIVER, AXE):
        if not needed.exists():
            raise RuntimeError(f"{needed} is missing: run python3 scripts/browser.py install")
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in QUIET:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    return driver


def axe_violations(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A and AA rules on the page as it is: the violations found."""
    driver.execute_script(AXE.read_text("utf-8"))
    found: Any = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {
          runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                          "best-practice"]},
          resultTypes: ["violations"],
        }).then(
          r => done(r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
          }))),
          e => done([{id: "axe-error", impact: "critical", help: String(e), targets: []}]),
        );
        """
    )
    assert isinstance(found, list)
    return found


def screenshots(driver: webdriver.Chrome, folder: Path, name: str) -> list[Path]:
    """The whole page at phone then desktop width, saved as PNG artefacts."""
    saved = []
    for label, (width, height) in (("phone", PHONE), ("desktop", DESKTOP)):
        driver.set_window_size(width, height)
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(int(full) + 140, 6000))
        path = folder / f"{name}-{label}.png"
        assert driver.save_screenshot(str(path)), path
        saved.append(path)
    driver.set_window_size(*DESKTOP)
    return saved


def press(driver: webdriver.Chrome, button: WebElement, keys: str | None = None) -> None:
    """Press a link or a form's button (a click, or `keys` typed on it) and wait for the page
    it leads to: a click may return before the browser has left the page, whose elements then
    go stale under the test."""
    before = driver.find_element(By.TAG_NAME, "html")
    if keys is None:
        button.click()
    else:
        button.send_keys(keys)
    wait = WebDriverWait(driver, 30)
    wait.until(expected_conditions.staleness_of(before))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
