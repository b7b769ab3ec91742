"""The Invoices pages in a real browser against a real Airflow (scheduler, DAG processor, api-server
with the UI and the plugin): log in on Airflow's login page, open Invoices from Airflow's navigation,
filter, open a transaction and its document, resend, and the resend run delivers on the scheduler.

Screenshots go to the test's folder; with ``INVOICE_HUB_SCREENSHOTS=docs/images`` to the docs (how
the README's pictures are made).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.helpers import drop, files_in, write
from tests.servers.airflow_scheduler import AirflowScheduler
from tests.servers.browser import CHROMIUM, Browser
from tests.test_export_dag import invoice

pytestmark = [
    pytest.mark.airflow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/system-packages.sh)"),
]

INTEGRATION = """
name: web_in
schedule: null
source: {{type: local, path: {root}/in}}
transform: {{input: ubl, validate: structure, output: passthrough}}
destinations: [{{type: local, path: {root}/erp}}]
"""
PASSWORD = "dashboard-test-password"  # the test's own SimpleAuthManager user


def _type_into(selector: str, value: str) -> str:
    """JavaScript that types ``value`` into a (React-controlled) input as a person would: the value
    set through the element's own setter, then the events React listens to."""
    return (
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return false;"
        "const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;"
        f"set.call(e, {json.dumps(value)}); e.dispatchEvent(new Event('input', {{bubbles: true}}));"
        "e.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
    )


def test_log_in_open_invoices_filter_open_a_document_and_resend(
    airflow_scheduler: Callable[..., AirflowScheduler], integrations_dir: Path, tmp_path: Path
) -> None:
    write(integrations_dir / "web_in.yaml", INTEGRATION.format(root=tmp_path))
    for number in (1, 2, 3):
        drop(tmp_path / "in", f"INV-{number}.xml", invoice(f"INV-{number}", "2026-11-02", "C1"))
    drop(tmp_path / "in", "broken.xml", "<Invoice>not UBL</Invoice>")
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD}))
    airflow = airflow_scheduler(
        env={
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        },
        api_apps="all",
    )
    airflow.wait_for_dag("web_in")
    airflow.unpause("web_in")
    airflow.airflow("dags", "trigger", "web_in")
    (run,) = airflow.wait_for_runs("web_in", 1, run_type="manual", timeout=120)
    assert run.state == "failed", run.tasks  # the broken file fails archive, the others went through
    assert files_in(tmp_path / "erp") == ["INV-1.xml", "INV-2.xml", "INV-3.xml"]

    shots = Path(os.environ.get("INVOICE_HUB_SCREENSHOTS") or tmp_path / "screenshots")
    if not shots.is_absolute():
        shots = PROJECT / shots
    base = f"http://127.0.0.1:{airflow.port}"
    browser = Browser(tmp_path)
    try:
        browser.goto(f"{base}/auth/login")  # Airflow's login page (SimpleAuthManager's)
        browser.wait_for("!!document.querySelector('input[name=password]')", what="the login form")
        assert browser.js(_type_into("input[name=username]", "admin"))
        assert browser.js(_type_into("input[name=password]", PASSWORD))
        browser.js("document.querySelector('button[type=submit]').click()")
        browser.wait_for("!location.pathname.startsWith('/auth')", what="the login to finish")

        browser.goto(f"{base}/")
        browser.wait_for(
            "[...document.querySelectorAll('a,button')].some(e => e.textContent.trim() === 'Invoices')",
            30,
            "Invoices in the navigation",
        )
        browser.js(
            "[...document.querySelectorAll('a,button')].find(e => e.textContent.trim() === 'Invoices').click()"
        )
        browser.wait_for("document.querySelector('iframe') !== null", 30, "the embedded Invoices page")
        browser.wait_for(
            "(() => { const f = document.querySelector('iframe'); try { return f.contentDocument.body.innerText.includes('INV-1'); } catch (e) { return false; } })()",
            30,
            "the transactions inside Airflow's UI",
        )
        browser.screenshot(shots / "dashboard-in-airflow.png")

        browser.goto(f"{base}/invoices/?status=rejected")
        assert browser.wait_for("document.body.innerText.includes('broken.xml')")
        assert not browser.js("document.body.innerText.includes('INV-1')")
        browser.goto(f"{base}/invoices/?integration=web_in&status=delivered&sort=number&desc=false")
        assert browser.wait_for("document.querySelectorAll('tbody tr').length === 3")
        browser.screenshot(shots / "dashboard-transactions.png")

        browser.js(
            "[...document.querySelectorAll('tbody a')].find(a => a.textContent.trim() === 'INV-1').click()"
        )
        browser.wait_for("location.pathname.includes('/transactions/invoice-')", what="the transaction page")
        browser.wait_for(
            "document.readyState === 'complete' && document.body.innerText.includes('VAT breakdown')"
        )
        assert browser.js("document.querySelector('pre.xml').innerText.includes('<cbc:ID>INV-1</cbc:ID>')")
        browser.screenshot(shots / "dashboard-transaction.png")
        page = browser.js("location.href")

        browser.goto(f"{page.replace('/invoices/transactions/', '/invoices/api/transactions/')}/documents/0")
        assert browser.js("document.contentType") == "text/plain"
        assert "<cbc:ID>INV-1</cbc:ID>" in browser.js("document.body.innerText")

        browser.goto(page)
        browser.js("document.querySelector('form[data-action=resend] button[type=submit]').click()")
        browser.js("document.querySelector('form[data-action=resend] button[type=submit]').click()")  # twice
        result = browser.wait_for(
            "(() => { const t = document.querySelector('.result').innerText; return t.includes('run ') && t; })()",
            what="the resend run to be started",
        )
        assert "resend__" in result
        browser.js("document.querySelector('form[data-action=resend]').scrollIntoView()")
        browser.screenshot(shots / "dashboard-resend.png")

        resends = airflow.wait_for_runs("web_in", 2, run_type="manual", timeout=120)
        resent = [r for r in resends if r.run_id.startswith("resend__")]
        assert len(resent) == 1 and resent[0].state == "success", resends  # two clicks, one run
        browser.goto(page)  # the new delivery in the transaction's history
        delivered = "[...document.querySelectorAll('tbody tr td:nth-child(2)')].filter(td => td.innerText.trim() === 'delivered').length"
        assert browser.wait_for(f"{delivered} === 2", what="the resend in the history")
        browser.screenshot(shots / "dashboard-history.png")

        browser.js("localStorage.setItem('theme', 'dark')")  # Airflow's UI switched to dark mode
        browser.goto(f"{base}/invoices/integrations/web_in")
        background = "getComputedStyle(document.body).backgroundColor"
        assert browser.wait_for(f"{background} === 'rgb(26, 32, 44)'", what="the dark theme")
        assert browser.js("document.querySelectorAll('svg.chart rect.bar').length") == 1, "today's bar"
        browser.screenshot(shots / "dashboard-health-dark.png")
    finally:
        browser.close()

    assert files_in(tmp_path / "erp") == ["INV-1.xml", "INV-1_1.xml", "INV-2.xml", "INV-3.xml"]
