"""The circle's pages in a real browser: what a member reads, what a facilitator changes, how
it looks on a phone and a desktop, and what axe-core says about accessibility."""

from __future__ import annotations

import asyncio
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.adapters.web.browser import axe_violations, chromium, press, screenshots
from tests.adapters.web.conftest import Site

SERIOUS = ("serious", "critical")


async def test_a_member_reads_the_next_seance_a_recap_and_finds_the_calendar(
    site: Site, tmp_path: Path
) -> None:
    token = await site.link("alice")
    page = f"{site.url}/c/{token}"
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def browse() -> dict[str, object]:
        driver = chromium(tmp_path / "profile")
        try:
            driver.get(page)
            seen: dict[str, object] = {"title": driver.title}
            seen["next"] = driver.find_element(By.CSS_SELECTOR, "section.next").text
            recap = driver.find_element(By.CSS_SELECTOR, "article.recap")
            seen["recap"] = recap.text
            chart = recap.find_element(By.TAG_NAME, "img")
            seen["alt"] = chart.get_attribute("alt")
            driver.execute_script("arguments[0].scrollIntoView()", chart)  # it loads lazily
            seen["chart_loaded"] = WebDriverWait(driver, 20).until(
                lambda d: d.execute_script(
                    "return arguments[0].complete && arguments[0].naturalWidth > 0", chart
                )
            )
            seen["forms"] = [
                f.get_attribute("value")
                for f in driver.find_elements(By.CSS_SELECTOR, "form input[name=action]")
            ]
            # the page's own stylesheet applies under the Content-Security-Policy
            seen["max_width"] = driver.execute_script(
                "return getComputedStyle(document.querySelector('main')).maxWidth"
            )
            seen["shots"] = screenshots(driver, shots, "circle")
            seen["axe_circle"] = axe_violations(driver)
            press(driver, driver.find_element(By.LINK_TEXT, "English"))
            seen["english"] = driver.find_element(By.CSS_SELECTOR, "section.next h2").text
            seen["english_lang"] = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
            press(driver, driver.find_element(By.LINK_TEXT, "Calendar"))
            seen["webcal"] = driver.find_element(
                By.CSS_SELECTOR, "a[href^='webcal://']"
            ).get_attribute("href")
            seen["ics"] = driver.find_element(By.ID, "ics-url").get_attribute("value")
            seen["shots"] = [*seen["shots"], *screenshots(driver, shots, "calendar")]  # type: ignore[misc]
            seen["axe_calendar"] = axe_violations(driver)
            return seen
        finally:
            driver.quit()

    seen = await asyncio.to_thread(browse)
    assert seen["title"] == "Cercle ESS — Cercle"
    assert str(seen["next"]).startswith(
        "Prochaine séance\njeudi 17 décembre 2026 à 14:00\nSéance 2 — Déléguer\n"
        "Question de préparation : Que lâcher ?\n"
        "Heures données dans le fuseau du cercle (Europe/Paris).\n"
        "Qui vient ?\nPersonne n'a encore dit s'il ou elle vient.\n"
        "Serez-vous là à la séance 2 ?\nVous n'avez pas encore répondu.\n"
    )
    recap = str(seen["recap"])
    assert recap.startswith("Récapitulatif — Cercle ESS, séance 1/2\n")
    assert "#3 Appeler la fédération — responsable : alice" in recap
    assert "alice : « sereine »" in recap
    assert str(seen["alt"]).startswith("Graphique du temps de parole par personne, séance 1")
    assert seen["chart_loaded"] is True
    assert seen["forms"] == ["rsvp"]  # a participant has no plan form, only her presence
    assert seen["max_width"] != "none"
    assert seen["english"] == "Next session"
    assert seen["english_lang"] == "en"
    assert seen["webcal"] == f"webcal://{site.url.removeprefix('http://')}/c/{token}/calendar.ics"
    assert seen["ics"] == f"{site.url}/c/{token}/calendar.ics"
    for name in ("axe_circle", "axe_calendar"):
        violations = seen[name]
        assert isinstance(violations, list)
        assert [v for v in violations if v["impact"] in SERIOUS] == [], name
    for shot in seen["shots"]:  # type: ignore[attr-defined]
        assert shot.stat().st_size > 10_000, shot


async def test_a_facilitator_moves_a_seance_and_the_channel_is_told(
    site: Site, tmp_path: Path
) -> None:
    token = await site.link("anim")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def browse() -> dict[str, object]:
        driver = chromium(tmp_path / "profile")
        try:
            driver.get(f"{site.url}/c/{token}")
            seen: dict[str, object] = {"axe_before": axe_violations(driver)}
            Select(driver.find_element(By.ID, "move-number")).select_by_value("2")
            driver.find_element(By.ID, "move-when").send_keys("2026-12-01 14:00")
            press(driver, driver.find_element(By.CSS_SELECTOR, "#move-when ~ button"))
            seen["refused"] = driver.find_element(By.CSS_SELECTOR, "[role=alert]").text
            Select(driver.find_element(By.ID, "move-number")).select_by_value("2")
            driver.find_element(By.ID, "move-when").send_keys("2026-12-18 15:30")
            press(driver, driver.find_element(By.CSS_SELECTOR, "#move-when ~ button"))
            seen["done"] = driver.find_element(By.CSS_SELECTOR, "[role=status]").text
            seen["next"] = driver.find_element(By.CSS_SELECTOR, "section.next .big").text
            seen["shots"] = screenshots(driver, shots, "facilitator")
            seen["axe_after"] = axe_violations(driver)
            press(driver, driver.find_element(By.LINK_TEXT, "Bilan"))
            seen["report"] = driver.find_element(By.CSS_SELECTOR, "pre.report").text
            seen["axe_report"] = axe_violations(driver)
            return seen
        finally:
            driver.quit()

    seen = await asyncio.to_thread(browse)
    # the chat's own refusal, shown on the page; nothing was told to the channel for it
    assert seen["refused"] == (
        "Rien n'a été changé\n"
        "Le mardi 1 décembre 2026 à 14:00 est déjà passé : rien n'est planifié."
    )
    moved = "La séance 2 est déplacée au vendredi 18 décembre 2026 à 15:30 (heure de Paris)."
    assert site.channel_texts() == [moved]
    assert str(seen["done"]) == f"C'est fait\n{moved}"
    assert seen["next"] == "vendredi 18 décembre 2026 à 15:30"
    assert "Cercle ESS" in str(seen["report"])
    for name in ("axe_before", "axe_after", "axe_report"):
        violations = seen[name]
        assert isinstance(violations, list)
        assert [v for v in violations if v["impact"] in SERIOUS] == [], name


async def test_a_member_says_she_will_not_come_and_the_chat_knows(
    site: Site, tmp_path: Path
) -> None:
    token = await site.link("alice")
    await site.chat.say("bob", "/presence oui")
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def browse() -> dict[str, object]:
        driver = chromium(tmp_path / "profile")
        try:
            driver.get(f"{site.url}/c/{token}")
            seen: dict[str, object] = {"axe_before": axe_violations(driver)}
            seen["before"] = driver.find_element(By.CSS_SELECTOR, "section.next .coming").text
            form = driver.find_element(By.CSS_SELECTOR, "section.next form.rsvp")
            seen["legend"] = form.find_element(By.TAG_NAME, "legend").text
            press(driver, form.find_element(By.CSS_SELECTOR, "button[value=no]"))
            seen["url"] = driver.current_url  # post, redirect, get
            seen["done"] = driver.find_element(By.CSS_SELECTOR, "[role=status]").text
            seen["after"] = driver.find_element(By.CSS_SELECTOR, "section.next .coming").text
            seen["chosen"] = driver.find_element(By.CSS_SELECTOR, "button.chosen").text
            driver.refresh()  # reloading shows the page again; it does not answer again
            seen["reloaded"] = driver.find_element(By.CSS_SELECTOR, "section.next .coming").text
            seen["shots"] = screenshots(driver, shots, "presence")
            seen["axe_after"] = axe_violations(driver)
            # with the keyboard alone: back to "maybe"
            maybe = driver.find_element(By.CSS_SELECTOR, "section.next button[value=maybe]")
            press(driver, maybe, Keys.ENTER)
            seen["keyboard"] = driver.find_element(By.CSS_SELECTOR, "[role=status]").text
            return seen
        finally:
            driver.quit()

    seen = await asyncio.to_thread(browse)
    assert seen["before"] == "Oui (1) : bob\nPeut-être (0) : —\nNon, excusé·es (0) : —"
    assert seen["legend"] == "Serez-vous là à la séance 2 ?"
    assert seen["url"] == f"{site.url}/c/{token}?lang=fr&presence=2"
    assert seen["done"] == "C'est fait\nVotre réponse pour la séance 2 : non."
    assert seen["after"] == "Oui (1) : bob\nPeut-être (0) : —\nNon, excusé·es (1) : alice"
    assert seen["chosen"] == "Non, je m'excuse"
    assert seen["reloaded"] == seen["after"]
    assert seen["keyboard"] == "C'est fait\nVotre réponse pour la séance 2 : peut-être."
    for name in ("axe_before", "axe_after"):
        violations = seen[name]
        assert isinstance(violations, list)
        assert [v for v in violations if v["impact"] in SERIOUS] == [], name
    for shot in seen["shots"]:  # type: ignore[attr-defined]
        assert shot.stat().st_size > 10_000, shot
    # the chat knows what the page was told, the facilitators' tally too; the channel, nothing
    await site.chat.say("alice", "/presence")
    assert site.chat.text == "Votre réponse pour la séance 2 : peut-être."
    await site.chat.say("anim", "/presence")
    assert "- oui : 1 (bob)\n- peut-être : 1 (alice)\n- non : 0 (—)" in site.chat.text
    assert site.channel_texts() == []
