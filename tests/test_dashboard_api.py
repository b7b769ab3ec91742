"""The Invoices pages and their JSON API over Airflow's real app (``create_app``: the plugin mounted
by Airflow itself), real JWTs from the real SimpleAuthManager, and a ledger filled by real DAG runs.

Per-DAG access with SimpleAuthManager is by team (``[core] multi_team``): a user ``name:role:team``
reads (role viewer) or also triggers (role user) the DAGs of the bundles of their team. The DAGs are
parsed from the project's DAG file and stored as the DAG processor stores them, each integration
folder in a bundle of its team (the DAG processor does the same from ``dag_bundle_config_list``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROJECT
from tests.helpers import drop, load_dag, run_dag, write
from tests.test_export_dag import invoice

pytestmark = pytest.mark.usefixtures("airflow_db")

IN = """
name: dash_in
source: {{type: local, path: {root}/in}}
transform: {{input: ubl, validate: structure, output: passthrough}}
destinations: [{{type: local, path: {root}/erp}}, {{type: local, path: {root}/copy}}]
"""
EXPORT = """
name: dash_export
kind: export
select: {{date_field: issue_date, customers: [C1, C2]}}
transform: {{output: ubl, filename: "{{invoice_number}}.xml"}}
destinations: [{{type: local, path: {root}/out}}]
"""
OTHER = """
name: dash_other
source: {{type: local, path: {root}/other-in}}
transform: {{input: ubl, validate: structure, output: passthrough}}
destinations: [{{type: local, path: {root}/other-out}}]
"""
USERS = {  # name: (role, teams)
    "admin": ("admin", None),
    "ana": ("user", ["team_a"]),  # reads and triggers team A's integrations
    "vera": ("viewer", ["team_a"]),  # reads team A's, triggers nothing
    "bob": ("user", ["team_b"]),  # team B's only
}
INVOICES = 24  # received by dash_in, plus one rejected file


@dataclass
class Hub:
    client: Any
    root: Path
    tokens: dict[str, str]

    def get(self, path: str, user: str | None = "admin", **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return self.client.get(f"/invoices{path}", headers=headers, **kwargs)

    def post(self, path: str, body: dict, user: str | None = "admin") -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return self.client.post(f"/invoices{path}", json=body, headers=headers)

    def rows(self, user: str = "admin", **query: Any) -> dict:
        response = self.get("/api/transactions", user, params=query)
        assert response.status_code == 200, response.text
        return response.json()


def _env(root: Path) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_INVOICE_HUB_DB": f"sqlite:///{root / 'ledger.db'}",
        "INVOICE_HUB_STAGING_URL": (root / "staging").as_uri(),
        "INVOICE_HUB_STORE_URL": (root / "store").as_uri(),
        "AIRFLOW__CORE__MULTI_TEAM": "True",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
            f"{name}:{role}" + (f":{'|'.join(teams)}" if teams else "")
            for name, (role, teams) in USERS.items()
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(root / "passwords.json"),
        "AIRFLOW__API__BASE_URL": "http://127.0.0.1:8080",
    }


def _store_dags(folder: Path, bundle: str, team: str) -> None:
    """Parse the project's DAG file over ``folder`` and store its DAGs in ``bundle`` of ``team``."""
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.team import Team
    from airflow.utils.session import create_session

    with create_session() as session:
        owner = session.get(Team, team) or Team(name=team)
        model = session.get(DagBundleModel, bundle) or DagBundleModel(name=bundle)
        model.teams = [owner]
        session.add_all([owner, model])
    os.environ["INVOICE_HUB_INTEGRATIONS_DIR"] = str(folder)
    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, bundle, None)


def _forget_dags(dag_ids: list[str], bundles: list[str], teams: list[str]) -> None:
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.dagrun import DagRun
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.team import Team
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    with create_session() as session:
        session.execute(delete(DagRun).where(DagRun.dag_id.in_(dag_ids)))
        session.execute(delete(SerializedDagModel).where(SerializedDagModel.dag_id.in_(dag_ids)))
        session.execute(delete(DagModel).where(DagModel.dag_id.in_(dag_ids)))
        for name in bundles:
            bundle = session.get(DagBundleModel, name)
            if bundle is not None:
                bundle.teams = []
                session.delete(bundle)
        session.flush()
        for name in teams:
            team = session.get(Team, name)
            if team is not None:
                session.delete(team)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, airflow_db: Path) -> Iterator[Hub]:
    from fastapi.testclient import TestClient

    root = tmp_path_factory.mktemp("dashboard")
    saved = dict(os.environ)
    os.environ.update(_env(root))
    try:
        team_a, team_b = root / "team_a", root / "team_b"
        write(team_a / "dash_in.yaml", IN.format(root=root))
        write(team_a / "dash_export.yaml", EXPORT.format(root=root))
        write(team_b / "dash_other.yaml", OTHER.format(root=root))
        for number in range(1, INVOICES + 1):
            drop(
                root / "in",
                f"INV-{number:03}.xml",
                invoice(f"INV-{number:03}", f"2026-11-{1 + number % 20:02}", "C1" if number % 2 else "C2"),
            )
        drop(root / "in", "broken.xml", "<Invoice>not UBL</Invoice>")
        drop(root / "other-in", "B-1.xml", invoice("B-1", "2026-11-02", "C7"))
        os.environ["INVOICE_HUB_INTEGRATIONS_DIR"] = str(team_b)
        assert run_dag(load_dag("dash_other"))[0] == "success"
        os.environ["INVOICE_HUB_INTEGRATIONS_DIR"] = str(team_a)
        state, tasks = run_dag(load_dag("dash_in"))
        assert state == "failed" and tasks["archive"] == "failed", tasks  # the broken file fails the run
        _store_dags(team_b, "dash_bundle_b", "team_b")
        _store_dags(team_a, "dash_bundle_a", "team_a")

        from airflow.api_fastapi.app import create_app, get_auth_manager, purge_cached_app
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

        purge_cached_app()
        app = create_app("core")
        manager = get_auth_manager()
        tokens = {
            name: manager.generate_jwt(SimpleAuthManagerUser(username=name, role=role, teams=teams))
            for name, (role, teams) in USERS.items()
        }
        tokens["stranger"] = "not-a-token"
        with TestClient(app, raise_server_exceptions=True) as client:
            yield Hub(client, root, tokens)
    finally:
        _forget_dags(
            ["dash_in", "dash_export", "dash_other"], ["dash_bundle_a", "dash_bundle_b"], ["team_a", "team_b"]
        )
        from airflow.api_fastapi.app import purge_cached_app

        purge_cached_app()
        os.environ.clear()
        os.environ.update(saved)


def _first_invoice(hub: Hub, user: str = "admin") -> str:
    rows = hub.rows(user, integration="dash_in", number="INV-001")["rows"]
    assert len(rows) == 1, rows
    return rows[0]["id"]


# -- every endpoint: 401 without a login, 403 without access to the integration's DAG ---------------


def _endpoints(hub: Hub) -> list[tuple[str, str, dict | None]]:
    """(method, path, body) of every route of the app, with real ids filled in."""
    transaction = _first_invoice(hub)
    body = {"document": 0, "destination": "destinations.0", "token": "tok-401-403"}
    return [
        ("GET", "/", None),
        ("GET", "/static/dashboard.css", None),
        ("GET", f"/transactions/{transaction}", None),
        ("GET", "/integrations", None),
        ("GET", "/integrations/dash_in", None),
        ("GET", "/open-ar", None),
        ("GET", "/open-ar/dash_in", None),
        ("GET", "/export", None),
        ("GET", "/export/dash_export", None),
        ("GET", "/api/transactions", None),
        ("GET", f"/api/transactions/{transaction}", None),
        ("GET", f"/api/transactions/{transaction}/invoice", None),
        ("GET", f"/api/transactions/{transaction}/documents/0", None),
        ("POST", f"/api/transactions/{transaction}/resend", body),
        ("GET", "/api/integrations", None),
        ("GET", "/api/integrations/dash_in/health", None),
        ("GET", "/api/integrations/dash_in/volume", None),
        ("GET", "/api/integrations/dash_in/open-ar", None),
        ("GET", "/api/integrations/dash_export/find-invoices?customer=C1", None),
        ("POST", "/api/integrations/dash_export/export", {"customer": "C1", "token": "tok-401-403"}),
    ]


def test_every_route_is_listed_here(hub: Hub) -> None:
    """A new route without a place in the 401/403 tests fails here."""
    hub.get("/integrations")  # the app is built on its first request
    (mount,) = [r for r in hub.client.app.routes if getattr(r, "path", None) == "/invoices"]
    listed = [(method, path.split("?")[0]) for method, path, _ in _endpoints(hub)]
    for route in mount.app._app.routes:
        for method in set(getattr(route, "methods", ())) - {"HEAD"}:
            assert any(m == method and route.path_regex.match(p) for m, p in listed), (method, route.path)


def test_every_endpoint_needs_a_login(hub: Hub) -> None:
    for method, path, body in _endpoints(hub):
        for user in (None, "stranger"):
            response = hub.post(path, body or {}, user) if method == "POST" else hub.get(path, user)
            assert response.status_code in (401, 403), (method, path, user, response.status_code)
            if user is None:
                assert response.status_code == 401, (method, path)


def test_a_user_of_another_team_gets_403_everywhere_it_names_an_integration(hub: Hub) -> None:
    for method, path, body in _endpoints(hub):
        if (
            path in {"/", "/integrations", "/open-ar", "/export", "/api/transactions", "/api/integrations"}
            or "static" in path
        ):
            continue  # lists: filtered to what the user may read, tested below
        response = hub.post(path, body or {}, "bob") if method == "POST" else hub.get(path, "bob")
        assert response.status_code == 403, (method, path, response.status_code, response.text[:200])
    assert hub.get("/api/integrations/dash_in/health", "bob").json()["detail"].startswith("you may not read")


def test_a_viewer_reads_but_cannot_resend_or_export(hub: Hub) -> None:
    transaction = _first_invoice(hub, "vera")
    assert hub.get(f"/api/transactions/{transaction}", "vera").status_code == 200
    page = hub.get(f"/transactions/{transaction}", "vera")
    assert page.status_code == 200 and "Resend" not in page.text
    body = {"document": 0, "destination": "destinations.0", "token": "tok-viewer-1"}
    denied = hub.post(f"/api/transactions/{transaction}/resend", body, "vera")
    assert denied.status_code == 403 and "trigger" in denied.json()["detail"]
    denied = hub.post(
        "/api/integrations/dash_export/export", {"customer": "C1", "token": "tok-viewer-2"}, "vera"
    )
    assert denied.status_code == 403


def test_lists_show_only_the_integrations_a_user_may_read(hub: Hub) -> None:
    everything = {row["integration"] for row in hub.rows(limit=500)["rows"]}
    assert everything == {"dash_in", "dash_other"}
    assert {row["integration"] for row in hub.rows("ana", limit=500)["rows"]} == {"dash_in"}
    assert {row["integration"] for row in hub.rows("bob", limit=500)["rows"]} == {"dash_other"}
    assert hub.rows("bob", integration="dash_in")["rows"] == []
    # DAGs of other test modules (in no team: every user may read them) share the metadata database
    visible = {h["integration"] for h in hub.get("/api/integrations", "bob").json()}
    assert "dash_other" in visible and not visible & {"dash_in", "dash_export"}, visible
    page = hub.get("/", "bob")
    assert page.status_code == 200 and "B-1" in page.text and "INV-001" not in page.text


# -- paging, filters, sorting ----------------------------------------------------------------------


def test_pages_follow_each_other_without_gaps_or_doubles(hub: Hub) -> None:
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = hub.rows("ana", limit=7, sort="number", desc="false", **({"after": after} if after else {}))
        seen += [row["number"] or row["source_path"] for row in page["rows"]]
        if not page["has_more"]:
            break
        after = page["next_cursor"]
    invoices = [n for n in seen if n.startswith("INV-")]
    assert invoices == [f"INV-{n:03}" for n in range(1, INVOICES + 1)]
    assert len(seen) == len(set(seen)) == INVOICES + 1, "and the rejected file, once"
    assert hub.get("/api/transactions", params={"after": "garbage"}).status_code == 422


def test_filters_search_and_sorting(hub: Hub) -> None:
    rejected = hub.rows(status="rejected")["rows"]
    assert [Path(r["source_path"]).name for r in rejected] == ["broken.xml"]
    assert rejected[0]["reason"]
    delivered = hub.rows(status="delivered", integration="dash_in", limit=500)["rows"]
    assert len(delivered) == INVOICES
    assert all(any("erp" in d for d in r["destinations"]) for r in delivered)
    assert [r["number"] for r in hub.rows(q="INV-007")["rows"]] == ["INV-007"]
    assert {r["receiver"] for r in hub.rows(receiver="C2", limit=500)["rows"]} == {"C2"}
    assert hub.rows(direction="outbound")["rows"] == []
    numbers = [
        r["number"]
        for r in hub.rows(integration="dash_in", status="delivered", sort="number", desc="true", limit=3)[
            "rows"
        ]
    ]
    assert numbers == ["INV-024", "INV-023", "INV-022"]
    page = hub.get("/", params={"status": "rejected"})
    assert page.status_code == 200 and "broken.xml" in page.text and "INV-001" not in page.text


# -- one transaction, its documents ---------------------------------------------------------------


def test_a_transaction_shows_its_history_documents_and_the_invoice(hub: Hub) -> None:
    transaction = _first_invoice(hub)
    detail = hub.get(f"/api/transactions/{transaction}").json()
    steps = [event["step"] for event in detail["history"]]
    assert "received" in steps and steps.count("delivered") == 2
    delivered = [e for e in detail["history"] if e["step"] == "delivered"]
    assert all(
        e["log_url"].endswith("/tasks/deliver") and "/dags/dash_in/runs/" in e["log_url"] for e in delivered
    )
    roles = [d["role"] for d in detail["documents"]]
    assert roles[:2] == ["source", "canonical"]
    assert detail["documents"][0]["resendable"] and not detail["documents"][1]["resendable"]

    page = hub.get(f"/transactions/{transaction}")
    assert page.status_code == 200
    text = page.text
    assert "VAT breakdown" in text and "Payable" in text and "INV-001" in text
    assert "&lt;cbc:ID&gt;INV-001&lt;/cbc:ID&gt;" in text, "the XML, formatted and escaped"
    assert page.headers["content-security-policy"].startswith("default-src 'self'")

    model = hub.get(f"/api/transactions/{transaction}/invoice").json()
    assert model["number"] == "INV-001" and model["lines"]


def test_a_rejected_files_page_lists_its_validation_findings(hub: Hub) -> None:
    """Issue 15: the history says what validation found; the page lists each finding (rule, flag,
    message) in a table under that event, and the JSON API returns them too."""
    (row,) = hub.rows(integration="dash_in", status="rejected")["rows"]
    detail = hub.get(f"/api/transactions/{row['id']}").json()
    assert [e["step"] for e in detail["history"]] == ["fetched", "validated", "rejected"]
    validated = detail["history"][1]
    assert validated["status"] == "invalid" and validated["detail"].startswith("validated (structure): ")
    assert validated["log_url"].endswith("/tasks/validate_transform")
    findings = validated["findings"]
    assert findings and all(f["severity"] == "fatal" and f["rule"] and f["message"] for f in findings)
    first = findings[0]
    assert first["rule"] in validated["detail"]

    page = hub.get(f"/transactions/{row['id']}")
    assert page.status_code == 200
    table = page.text.split('<table class="findings">', 1)[1].split("</table>", 1)[0]
    assert f'<td class="rule">{first["rule"]}</td>' in table
    assert "fatal" in table and escape(first["message"]) in table

    received = hub.get(f"/api/transactions/{_first_invoice(hub)}").json()
    validated = next(e for e in received["history"] if e["step"] == "validated")
    assert (
        validated["detail"] == "validated (structure): 0 warnings, 0 errors" and validated["findings"] == []
    )


def test_documents_are_served_so_that_they_cannot_run(hub: Hub) -> None:
    transaction = _first_invoice(hub)
    response = hub.get(f"/api/transactions/{transaction}/documents/0")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("inline; filename=")
    assert "sandbox" in response.headers["content-security-policy"]
    assert b"<cbc:ID>INV-001</cbc:ID>" in response.content
    download = hub.get(f"/api/transactions/{transaction}/documents/0", params={"download": "true"})
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["content-type"] == "application/octet-stream"
    assert hub.get(f"/api/transactions/{transaction}/documents/9").status_code == 404
    assert hub.get("/api/transactions/invoice-999999").status_code == 404


# -- health, volume, open AR, find invoices --------------------------------------------------------


def test_health_and_the_volume_chart(hub: Hub) -> None:
    (health,) = [h for h in hub.get("/api/integrations").json() if h["integration"] == "dash_in"]
    assert health["invoices_today"] == INVOICES
    assert health["last_failure"]["source_path"].endswith("broken.xml")
    volume = hub.get("/api/integrations/dash_in/volume", params={"days": 7}).json()
    assert len(volume) == 7 and volume[-1]["received"] == INVOICES and volume[-1]["rejected"] == 1
    page = hub.get("/integrations/dash_in")
    assert (
        page.status_code == 200 and "<svg" in page.text and f"{INVOICES} invoice(s), 1 rejected" in page.text
    )


def test_open_ar_and_find_invoices(hub: Hub) -> None:
    summary = hub.get("/api/integrations/dash_in/open-ar").json()
    assert summary["open"] == 0 and summary["rows"] == []
    found = hub.get("/api/integrations/dash_export/find-invoices", params={"customer": "C1"}).json()
    assert len(found) == INVOICES // 2 and {f["state"] for f in found} == {"not exported"}
    bad = hub.get("/api/integrations/dash_export/find-invoices", params={"date_from": "yesterday"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.json()["detail"]
    assert hub.get("/api/integrations/dash_in/find-invoices", params={"customer": "C1"}).status_code == 422
    page = hub.get("/export/dash_export", params={"customer": "C1"})
    assert page.status_code == 200 and "not exported" in page.text and "Export the selection" in page.text


# -- actions: runs of the integration's DAG, once per page token -----------------------------------


def _run(dag_id: str, run_id: str) -> Any:
    from airflow.models.dagrun import DagRun

    (run,) = DagRun.find(dag_id=dag_id, run_id=run_id)
    return run


def test_resend_starts_one_run_of_the_integrations_dag_per_token(hub: Hub) -> None:
    transaction = _first_invoice(hub, "ana")
    body = {"document": 0, "destination": "destinations.1", "token": "tok-resend-0001"}
    first = hub.post(f"/api/transactions/{transaction}/resend", body, "ana")
    assert first.status_code == 200, first.text
    again = hub.post(f"/api/transactions/{transaction}/resend", body, "ana")
    assert again.status_code == 200
    assert first.json()["created"] is True and again.json()["created"] is False
    assert first.json()["run_id"] == again.json()["run_id"] == "resend__tok-resend-0001"
    assert first.json()["url"] == "/dags/dash_in/runs/resend__tok-resend-0001"
    run = _run("dash_in", "resend__tok-resend-0001")
    source = hub.get(f"/api/transactions/{transaction}").json()
    assert run.conf["resend"]["destination"] == "destinations.1"
    assert re.fullmatch(r"[0-9a-f]{64}", run.conf["resend"]["document"])
    assert run.triggering_user_name == "ana"
    assert source["documents"][0]["resendable"]

    for wrong, status in (
        ({**body, "destination": "destinations.5", "token": "tok-resend-0002"}, 422),
        ({**body, "document": 1, "token": "tok-resend-0003"}, 422),  # the canonical model: not a deliverable
        ({**body, "token": "short"}, 422),
        ({**body, "extra": 1}, 422),
    ):
        response = hub.post(f"/api/transactions/{transaction}/resend", wrong, "ana")
        assert response.status_code == status, (wrong, response.text)


def test_manual_export_starts_the_export_dag_with_its_trigger_params(hub: Hub) -> None:
    body = {"invoice_numbers": ["INV-001", "INV-003"], "token": "tok-export-0001"}
    first = hub.post("/api/integrations/dash_export/export", body, "ana")
    assert first.status_code == 200, first.text
    assert hub.post("/api/integrations/dash_export/export", body, "ana").json()["created"] is False
    run = _run("dash_export", "manual__dashboard_tok-export-0001")
    assert run.conf == {
        "invoice_numbers": ["INV-001", "INV-003"],
        "customer": None,
        "date_from": None,
        "date_to": None,
    }
    nothing = hub.post("/api/integrations/dash_export/export", {"token": "tok-export-0002"}, "ana")
    assert nothing.status_code == 422 and "choose what to export" in nothing.json()["detail"]
    transfer = hub.post(
        "/api/integrations/dash_in/export", {"customer": "C1", "token": "tok-export-0003"}, "ana"
    )
    assert transfer.status_code == 422 and "not an export" in transfer.json()["detail"]


def test_a_page_without_a_session_links_to_airflows_login(hub: Hub) -> None:
    page = hub.get("/", None)
    assert page.status_code == 401 and "Log in to Airflow" in page.text and "/auth/login" in page.text
