"""The review flow in headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by Selenium) against a
real ``marketing-gen serve`` process, a real Celery worker and a real SMTP server.

Log in → open the campaign → edit one email so it breaks a guardrail (the page shows the finding and refuses) →
fix it → approve the email channel in bulk → send through the SMTP adapter → the SMTP server received exactly
the approved messages (not the SMS still in review). A screenshot of each page is saved; the paths are printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from outbox_store import run_to_outbox, seed_users
from sqlalchemy import select

from marketing_gen.config import get_settings
from marketing_gen.db import session_scope
from marketing_gen.db.models import Draft, OutboxMessage, User
from marketing_gen.devtools.smtp_sink import SmtpSink, free_port
from marketing_gen.review.accounts import add_account

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
IN_CI = os.environ.get("CI", "").lower() == "true"
N_USERS = 6


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if IN_CI:
            pytest.fail("CI needs Debian's chromium + chromium-driver (.ci/run installs them)")
        pytest.skip("chromium / chromedriver not installed: apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600",
                f"--user-data-dir={tmp_path / 'chrome-profile'}"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    driver.implicitly_wait(30)  # a loaded CI machine: elements of the next page may take a while
    try:
        yield driver
    finally:
        driver.quit()


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "marketing_gen", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait(pred, what: str, logs: list[Path], timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.3)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"timed out waiting for {what}\n{tails}")


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_review_flow_in_chromium(browser, settings_env: None, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def message(containing: str) -> str:
        """Wait for the page's flash message to contain ``containing`` (a form post reloads the page)."""
        # The post reloads the page: an element found just before the reload may vanish before its text is
        # read, which Chrome reports as a plain WebDriverException ("Node ... does not belong to the
        # document"), not as a stale element, so the wait ignores both and looks again.
        wait = WebDriverWait(browser, 60, ignored_exceptions=(WebDriverException,))
        wait.until(ec.text_to_be_present_in_element((By.ID, "msg"), containing))
        return str(wait.until(lambda b: b.find_element(By.ID, "msg").text))

    shots = Path(os.environ.get("MARKETING_GEN_TEST_ARTIFACTS") or tmp_path) / "review-screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):  # this test's screenshots from an earlier run on the same machine
        old.unlink()

    def shot(name: str) -> None:
        path = shots / f"{len(list(shots.glob('*.png'))) + 1:02d}-{name}.png"
        browser.save_screenshot(str(path))
        print(f"screenshot: {path}")

    settings = get_settings()
    seed_users(db_url, N_USERS)
    cid, _ = run_to_outbox(db_url, settings, channels=("email", "sms"), approval="required")
    add_account("ann", "ann-admin-pass", role="admin", url=db_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with SmtpSink() as sink:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("MARKETING_GEN_") or k.startswith("MARKETING_GEN_TEST")
        }
        env.update(
            {
                "MARKETING_GEN_DATABASE_URL": db_url,
                "MARKETING_GEN_BROKER_URL": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
                "MARKETING_GEN_BROKER_NAMESPACE": f"review-{uuid.uuid4().hex[:6]}-",
                "MARKETING_GEN_SECRET_KEY": settings.secret_key or "",
                "MARKETING_GEN_PUBLIC_BASE_URL": settings.public_base_url,
                "MARKETING_GEN_SMTP_HOST": sink.host,
                "MARKETING_GEN_SMTP_PORT": str(sink.port),
                "MARKETING_GEN_SMTP_SECURITY": "none",
                "MARKETING_GEN_MODELS_DIR": str(tmp_path / "models"),
                "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            }
        )
        serve_log, worker_log = tmp_path / "serve.log", tmp_path / "worker.log"
        procs = [
            _start(["serve", "--host", "127.0.0.1", "--port", str(port)], env, serve_log),
            _start(["worker", "-Q", "deliver", "-n", f"review-{uuid.uuid4().hex[:6]}@%h"], env, worker_log),
        ]
        logs = [serve_log, worker_log]
        try:
            _wait(lambda: _up(f"{base}/healthz"), "marketing-gen serve", logs)
            _wait(lambda: b" ready." in worker_log.read_bytes(), "the deliver worker", logs)

            # 1. log in
            browser.get(f"{base}/review/")
            assert "/review/login" in browser.current_url
            browser.find_element(By.ID, "username").send_keys("ann")
            browser.find_element(By.ID, "password").send_keys("ann-admin-pass")
            shot("login")
            browser.find_element(By.ID, "login").click()
            assert browser.find_element(By.ID, "campaigns").is_displayed()
            shot("campaigns")

            # 2. open the campaign (email drafts in review)
            browser.find_element(By.CSS_SELECTOR, "a.campaign-link").click()
            assert (
                "campaign" in browser.current_url
                and len(browser.find_elements(By.CSS_SELECTOR, "section.draft")) == N_USERS
            )
            shot("campaign-email")

            # 3. edit one email so that it breaks a guardrail: refused, finding shown, nothing saved
            card = browser.find_elements(By.CSS_SELECTOR, "section.draft")[0]
            draft_id = int(card.get_attribute("id").split("-")[1])
            with session_scope(db_url) as s:
                original = s.scalar(select(Draft.fields).where(Draft.id == draft_id))["subject"]
            card.find_element(By.CSS_SELECTOR, "summary.edit-toggle").click()
            subject = card.find_element(By.NAME, "field_subject")
            subject.clear()
            subject.send_keys("80% off everything, today only!")
            card.find_element(By.CSS_SELECTOR, "button.save-edit").click()
            message("refused")
            refused = browser.find_element(By.ID, f"refused-{draft_id}")
            assert "HARD" in refused.text
            shot("edit-refused")
            with session_scope(db_url) as s:
                assert s.scalar(select(Draft.fields).where(Draft.id == draft_id))["subject"] == original

            # 4. fix it: accepted, marked human-edited
            card = browser.find_element(By.ID, f"draft-{draft_id}")
            subject = card.find_element(By.NAME, "field_subject")
            subject.clear()
            subject.send_keys("Enamel pans picked for you")
            card.find_element(By.CSS_SELECTOR, "button.save-edit").click()
            message("every guardrail passed")
            assert "human-edited" in browser.find_element(By.ID, f"draft-{draft_id}").text
            shot("edit-accepted")

            # 5. approve the email channel in bulk
            browser.find_element(By.ID, "bulk-approve").click()
            message(f"Approved {N_USERS} drafts (email)")
            shot("bulk-approved")

            # 6. send through the SMTP adapter (a real worker on the deliver queue)
            Select(browser.find_element(By.ID, "adapter")).select_by_visible_text("smtp")
            browser.find_element(By.ID, "send").click()
            message(f"Sending {N_USERS} messages via smtp")
            _wait(lambda: sink.count >= N_USERS, "the SMTP server to receive the approved emails", logs)
            time.sleep(1.0)  # anything extra would arrive now
            browser.get(f"{base}/review/campaigns/{cid}?channel=email&status=queued")

            def sent_shown() -> bool:
                try:
                    return "sent" in browser.find_element(By.ID, "outbox-sent").text
                except WebDriverException:  # the page is reloading
                    return False

            _wait(lambda: sent_shown() or browser.refresh(), "the page", logs)
            shot("sent")
            received = sink.received
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()

    with session_scope(db_url) as s:
        approved = dict(
            s.execute(
                select(OutboxMessage.id, User.email)
                .join(User, User.id == OutboxMessage.user_id)
                .where(OutboxMessage.campaign_id == cid, OutboxMessage.state == "sent")
            ).all()
        )
        states = set(s.scalars(select(Draft.status).where(Draft.campaign_id == cid, Draft.channel == "sms")))
    assert len(received) == N_USERS == len(approved) and states == {"in_review"}
    assert sorted(int(r.message["X-MG-Outbox-Id"]) for r in received) == sorted(approved)
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(approved.values())
    subjects = [r.message["Subject"] for r in received]
    assert subjects.count("Enamel pans picked for you") == 1
    assert len(list(shots.glob("*.png"))) == 7
    print(f"screenshots in {shots}")
