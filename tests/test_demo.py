"""`python -m bot demo`: the real bot, the local Telegram and the page, driven in a browser.

The browser test drives Debian's Chromium (`apt-get install chromium`) through Playwright, as a
person would: it never installs a browser of its own. The screenshot it takes is kept as a test
artifact; with DEMO_SCREENSHOT=docs/demo.png it also refreshes the README's picture.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image
from playwright.async_api import Page, async_playwright, expect

from bot.config import Config
from bot.i18n import SUPPORTED_LANGUAGES, Catalogs
from bot.tips.status import NEWS
from sandbox.demo import Demo, DemoError, started
from storage.tips import TipStatus

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Browser steps wait for the real bot; generous, because the CI machine is shared.
STEP = 20_000


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


# ------------------------------------------------------------------ the command
def start_demo(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_DATABASE"] = str(tmp_path / "production.sqlite3")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--no-browser", "--port", "0", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def demo_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if match:
            return match.group(0)
    raise AssertionError("the demo never printed its address:\n" + "".join(seen))


def test_demo_starts_without_a_token_serves_the_page_and_stops_on_ctrl_c(tmp_path: Path):
    """Ctrl-C (SIGINT) stops the page, the bot and the local Telegram; the exit code is 0."""
    process = start_demo(tmp_path)
    try:
        url = demo_url(process)
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode()
        assert "<strong>Demo.</strong>" in page and 'lang="en"' in page
        with urllib.request.urlopen(url + "api/state", timeout=10) as response:
            state = json.load(response)
        names = {resident["name"]: resident for resident in state["residents"]}
        assert names["Amina"]["dir"] == "rtl" and names["Ola"]["dir"] == "ltr"
        assert any(c["command"] == "tip" for c in names["Amina"]["commands"])
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not (tmp_path / "production.sqlite3").exists(), "the demo touched BOT_DATABASE"


def test_demo_stops_on_sigterm(tmp_path: Path):
    process = start_demo(tmp_path, "--language", "en")
    try:
        demo_url(process)
        process.terminate()
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_demo_refuses_the_bots_own_database(tmp_path: Path):
    process = start_demo(tmp_path, "--database", str(tmp_path / "production.sqlite3"))
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "BOT_DATABASE" in output and "demo needs a database of its own" in output
    assert not (tmp_path / "production.sqlite3").exists()


async def test_only_the_page_on_this_computer_may_use_the_demo(demo: Demo):
    ola = next(user for user in demo.residents if user.first_name == "Ola")
    async with aiohttp.ClientSession() as http:
        async with http.get(demo.url, headers={"Host": "demo.example.org"}) as response:
            assert response.status == 403
        message = {"user_id": ola.id, "text": "hei"}
        async with http.post(
            demo.url + "api/send", json=message, headers={"Origin": "http://evil.example"}
        ) as response:
            assert response.status == 403
        async with http.post(demo.url + "api/send", json=message) as response:
            assert response.status == 200
        demo.double.send_document(ola, b"<script>alert(1)</script>", "x.html", "text/html")
        file_id = list(demo.double.files)[-1]
        async with http.get(demo.url + f"file/{file_id}") as response:
            assert response.headers["Content-Disposition"].startswith("attachment")
            assert response.content_type == "application/octet-stream"
    assert any(m.get("text") == "hei" for m in demo.double.messages.values())


# ------------------------------------------------------------------ the page in a browser
@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    base = Config(token="", database=tmp_path / "production.sqlite3")
    with pytest.raises(DemoError):
        async with started(base, port=0, database=base.database, language=None):
            pass
    async with started(base, port=0, database=tmp_path / "demo.sqlite3", language=None) as d:
        yield d


@pytest.fixture
async def page(demo: Demo) -> AsyncIterator[Page]:
    assert CHROMIUM.exists(), "install Debian's chromium: apt-get install -y chromium"  # noqa: ASYNC240
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            tab = await browser.new_page(viewport={"width": 1920, "height": 1000})
            tab.set_default_timeout(STEP)
            await tab.goto(demo.url)
            yield tab
        finally:
            await browser.close()


async def test_a_tip_with_a_photo_and_a_case_in_arabic_through_the_page(
    page: Page, demo: Demo, tmp_path: Path
):
    ar, nb = Catalogs().texts("ar"), Catalogs().texts("nb")
    await expect(page.get_by_role("note")).to_contain_text("Demo.")

    # A new resident whose Telegram speaks Arabic; her phone reads right to left.
    form = page.locator("#add-resident")
    await form.get_by_label("Name").fill("Layla")
    await form.get_by_label("Telegram language").fill("ar")
    await form.get_by_role("button", name="Add").click()
    phone = page.locator('.phone[data-resident="Layla"]')
    await expect(phone).to_have_attribute("dir", "rtl")

    async def layla_says(text: str) -> None:
        await phone.get_by_label("Message from Layla").fill(text)
        await phone.get_by_role("button", name="Send", exact=True).click()

    async def layla_presses(label: str) -> None:
        await phone.locator(".chat button, .reply-keyboard button", has_text=label).last.click()

    await layla_says("/start")
    await layla_presses(SUPPORTED_LANGUAGES["ar"])
    await expect(phone.locator(".msg.bot").last).to_contain_text(
        ar._("Welcome! Here you can see activities, send a tip, give feedback or talk to us.")
    )

    # A tip with a photo: the reference number comes back.
    await layla_says("/tip")
    await layla_presses(ar._("Sports fields and playgrounds"))
    await layla_presses(ar._("Skip"))
    await layla_says("الأرجوحة مكسورة")
    await phone.locator("input[type=file]").set_input_files(
        {"name": "swing.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}
    )
    await expect(phone.locator(".msg.person img.photo")).to_have_count(1)
    await layla_presses(ar._("Done, next step"))
    await layla_presses(ar._("Yes, show my name"))
    await layla_presses(ar._("Send the tip"))
    await expect(phone.locator(".chat")).to_contain_text("T-0001")

    # The card in the staff forum, in its category's topic; staff mark it solved.
    staff = page.locator("#staff")
    await staff.get_by_role("button", name=nb._("Sports fields and playgrounds")).click()
    card = staff.locator(".msg", has_text="T-0001").first
    await expect(card).to_contain_text("Layla")
    await expect(staff.locator(".msg img.photo")).to_have_count(1)
    await card.get_by_role("button", name="✅ Løst").click()
    news = phone.locator(".msg.bot", has_text=ar._(NEWS[TipStatus.RESOLVED]))
    await expect(news).to_contain_text("T-0001")

    # A case: Layla asks for a person; staff answer in the new case topic.
    await layla_says("/contact")
    await layla_says("مرحبا، أريد أن أسأل عن روضة الأطفال")
    case_topic = staff.get_by_role("button", name=re.compile(r"S-0001"))
    await case_topic.click()
    await expect(staff.locator("#staff-chat")).to_contain_text("روضة الأطفال")
    await staff.get_by_label("Message from Kari").fill("Hei Layla, vi ringer deg i morgen.")
    await staff.get_by_role("button", name="Send", exact=True).click()
    await expect(phone.locator(".msg.bot").last).to_contain_text("vi ringer deg i morgen")

    await expect(phone.locator(".toast.visible")).to_have_count(0)  # the picture without it
    shot = await page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
    assert Image.open(io.BytesIO(shot)).size[0] >= 1920
    target = os.environ.get("DEMO_SCREENSHOT")
    if target:
        (ROOT / target).write_bytes(shot)


async def test_time_controls_digest_feedback_and_a_closed_office(page: Page, demo: Demo):
    nb = Catalogs().texts("nb")
    ola = page.locator('.phone[data-resident="Ola"]')
    await expect(ola.locator(".msg.bot").first).to_contain_text(
        nb._("Welcome! Here you can see activities, send a tip, give feedback or talk to us.")
    )
    await page.get_by_role("button", name="Send this week's digest now").click()
    digest = ola.locator(".msg.bot", has_text="Leksehjelp")
    await expect(digest).to_have_count(1)
    await digest.get_by_role("button", name="1: Jeg kommer").click()
    await digest.get_by_role("button", name="1: Legg i kalenderen").click()
    await expect(ola.locator("a.document", has_text=".ics")).to_have_count(1)

    # Past the end of the next activity, Ola is asked how it was.
    await page.get_by_role("button", name="Move the clock past the next activity").click()
    await expect(page.locator("#note")).to_contain_text("Leksehjelp")
    intro = nb._("You said you would come to «{activity}». Thank you! 😊", activity="Leksehjelp")
    await expect(ola.locator(".msg.bot", has_text=intro)).to_have_count(1)

    # With the office closed, asking for a person gets the out-of-hours answer.
    office = page.locator("#office")
    if demo.office_is_open():
        await office.click()
    await expect(office).to_have_text("Open the office")
    await ola.get_by_label("Message from Ola").fill("/contact")
    await ola.get_by_role("button", name="Send", exact=True).click()
    closed = nb._("Our office is closed now. Your message is saved.").split(".")[0]
    await expect(ola.locator(".msg.bot", has_text=closed)).to_have_count(1)
    await ola.get_by_label("Message from Ola").fill("Hei, når åpner dere?")
    await ola.get_by_role("button", name="Send", exact=True).click()
    case_topic = page.locator("#staff").get_by_role("button", name=re.compile(r"S-0001"))
    await case_topic.click()
    await expect(page.locator("#staff-chat")).to_contain_text("når åpner dere?")
