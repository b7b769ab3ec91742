"""Integration files become Airflow DAGs.

Each DAG is ``wait_for_files >> fetch >> validate_transform >> deliver >> archive``; a reconciliation
has ``reconcile`` where a transfer validates and transforms.

Parsing is kept light (no ledger, staging or format code is imported here) because the DAG
processor re-parses the folder continuously, and at task run time only the DAG being run is built.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypedDict

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, CronTriggerTimetable, Param, get_parsing_context

from invoice_hub import settings
from invoice_hub.config import problem_cache
from invoice_hub.config.loader import (
    INTEGRATION_SUFFIXES,
    ConfigProblem,
    IntegrationFile,
    integration_files,
    load_folder,
    load_integration,
)
from invoice_hub.config.models import NOTIFY_EVENTS, Integration, Notify

TASK_IDS = ("wait_for_files", "fetch", "validate_transform", "deliver", "archive")
RECONCILE_TASK_IDS = ("wait_for_files", "fetch", "reconcile", "deliver", "archive")
EXPORT_TASK_IDS = ("select", "validate_transform", "deliver", "archive")

#: Per task: (retries, execution_timeout). Transfers retry with exponential back-off; validation is
#: deterministic, so retrying it cannot help.
TASK_POLICY: dict[str, tuple[int, dt.timedelta]] = {
    "wait_for_files": (3, dt.timedelta(minutes=15)),
    "select": (3, dt.timedelta(minutes=15)),
    "fetch": (3, dt.timedelta(hours=1)),
    "validate_transform": (0, dt.timedelta(hours=1)),
    "reconcile": (0, dt.timedelta(hours=2)),
    "deliver": (4, dt.timedelta(hours=1)),
    "archive": (3, dt.timedelta(minutes=30)),
}

DEFAULT_ARGS: dict[str, Any] = {
    "retry_delay": dt.timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=30),
}

_log = logging.getLogger(__name__)


class _NotifierArgs(TypedDict):
    """What every RunNotifier of an integration is given, besides its trigger."""

    integration: str
    notify: Notify
    conn_ids: list[str]


_NAME_LINE = re.compile(rb"^name:\s*[\"']?([a-z][a-z0-9_]*)", re.MULTILINE)


class IntegrationFileProblems(Exception):
    """Raised by the hub's second DAG file, ``dags/invoice_hub_config_errors.py``, when integration files
    are broken: Airflow shows it as that file's import error, listing every problem.

    Airflow 3.3's DAG processor marks every DAG of a file stale when the file has an import error, so
    the problems must never be raised by (or attached to) the file that builds the valid DAGs: there,
    one broken integration file would stop all the others (the UI would show no DAG at all).
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s) in integration files; the other integrations run as usual "
            "(check with `invoice-hub check-config`):\n" + "\n".join(problems)
        )


def raise_config_problems(paths: Iterable[Path] | None = None) -> None:
    """Raise :class:`IntegrationFileProblems` when any integration file is broken; else nothing.

    The problems the DAG file found are reused while the folder is unchanged (see
    :mod:`invoice_hub.config.problem_cache`); otherwise the folder is validated here.
    """
    folders = list(paths) if paths is not None else [settings.integrations_dir()]
    state = problem_cache.folder_state(folders)
    problems = problem_cache.recall(state)
    if problems is None:
        problems = [str(problem) for entry in load_folder(folders) for problem in entry.problems]
        problem_cache.remember(state, problems)
    if problems:
        raise IntegrationFileProblems(problems)


def build_dag(entry: IntegrationFile) -> DAG:
    """The DAG of one valid integration file."""
    from invoice_hub.operators import (
        ApAgilityExportOperator,
        ArchiveOperator,
        DeliverOperator,
        ExportArchiveOperator,
        ExportRenderOperator,
        FetchOperator,
        OpenArReconcileOperator,
        SelectInvoicesOperator,
        ValidateTransformOperator,
        WaitForFilesOperator,
    )

    integration = entry.integration
    assert integration is not None
    if integration.kind == "export":
        operators: dict[str, type] = dict(
            zip(
                EXPORT_TASK_IDS,
                (SelectInvoicesOperator, ExportRenderOperator, DeliverOperator, ExportArchiveOperator),
                strict=True,
            )
        )
    else:
        reconciling = integration.kind == "open_ar_reconciliation"
        if reconciling:
            middle: type = OpenArReconcileOperator
        elif integration.transform.output == "ap_agility":
            middle = ApAgilityExportOperator
        else:
            middle = ValidateTransformOperator
        operators = dict(
            zip(
                RECONCILE_TASK_IDS if reconciling else TASK_IDS,
                (WaitForFilesOperator, FetchOperator, middle, DeliverOperator, ArchiveOperator),
                strict=True,
            )
        )
    extra: dict[str, dict[str, Any]] = (
        {"fetch": {"deduplicate_content": False}} if integration.kind == "open_ar_reconciliation" else {}
    )
    with DAG(
        dag_id=integration.name,
        description=(integration.description or None),
        doc_md=doc_md(entry),
        schedule=_timetable(integration.schedule, intervals=integration.kind == "export"),
        start_date=_start_date(integration.start_date),
        catchup=integration.catchup,
        tags=sorted({*integration.tags, "invoice-hub", integration.kind}),
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, "owner": integration.owner, **_notifications(integration)},
        dagrun_timeout=dt.timedelta(hours=6),
        params=_params(integration),
    ) as dag:
        previous = None
        for task_id, operator in operators.items():
            retries, timeout = TASK_POLICY[task_id]
            if task_id == "wait_for_files" and integration.file_source is not None:
                timeout += dt.timedelta(
                    seconds=integration.file_source.wait_seconds
                )  # waiting is not hanging
            task = operator(
                task_id=task_id,
                integration=integration,
                integration_file=entry.path,
                retries=retries,
                execution_timeout=timeout,
                **extra.get(task_id, {}),
            )
            if previous is not None:
                previous >> task
            previous = task
    return dag


def _timetable(
    schedule: str | None, intervals: bool = False
) -> CronTriggerTimetable | CronDataIntervalTimetable | None:
    """A run at each cron tick. Built here rather than by Airflow from the string, which looks its
    configuration up for every DAG: a fifth of the parse time with a thousand integrations.

    Exports select by data interval, so they get one run per interval between ticks (the trigger
    timetable's intervals have no length): consecutive runs cover time without gaps or overlaps.
    """
    if not schedule:
        return None
    if intervals:
        return CronDataIntervalTimetable(schedule, timezone="UTC")
    return CronTriggerTimetable(schedule, timezone="UTC")


def _start_date(date: dt.date | None) -> pendulum.DateTime | None:
    return pendulum.datetime(date.year, date.month, date.day, tz="UTC") if date else None


def _params(integration: Integration) -> dict[str, Param]:
    """The Trigger form's fields: a reconciliation's held snapshots are approved there, and a person
    exports chosen invoices, a customer's or a date range's.

    Every field is optional, and Airflow's form marks a Param as required unless its type admits
    ``null``: each has a null type and a null default. A run's configuration may name only these
    (the operators refuse other keys: Airflow itself merges any key into the params).
    """
    text = {"type": ["null", "string"]}
    names = {"type": ["null", "array"], "items": {"type": "string"}}
    resend = {
        "resend": Param(
            None,
            type=["null", "object"],
            title="Resend (started by the dashboard)",
            description="Deliver one stored document again: {document: sha256, destination: "
            "destinations.N, token}. The dashboard's Resend button fills it in; leave it empty.",
        )
    }
    return {**_kind_params(integration, text, names), **resend}


def _kind_params(integration: Integration, text: dict, names: dict) -> dict[str, Param]:
    if integration.kind == "export":
        return {
            "invoice_numbers": Param(
                None, **names, title="Invoice numbers",
                description="Export these invoices (instead of the run's interval).",
            ),
            "customer": Param(None, **text, title="Customer", description="Export this customer's invoices."),
            "date_from": Param(
                None, **text, format="date", title="From (issue or received date, inclusive)",
                description="YYYY-MM-DD; with 'to', instead of the run's interval.",
            ),
            "date_to": Param(None, **text, format="date", title="To (inclusive)", description="YYYY-MM-DD"),
        }  # fmt: skip
    if integration.kind != "open_ar_reconciliation":
        return {}
    return {
        "approve": Param(
            None,
            **names,
            title="Approve held snapshots",
            description="File names (or source paths) of held snapshots to apply although they were held, "
            "e.g. open_ar_2026-11-20.csv; the reasons are in the failed run's archive log.",
        )
    }


def _notifications(integration: Integration) -> dict[str, Any]:
    """Task-level callbacks (for the DAG's ``default_args``) sending ``notify:``: mails through
    Airflow's e-mail connection (``[email] email_conn_id``, default ``smtp_default``) and the
    webhook's HTTP connection.

    Task-level, not the DAG's own callbacks: Airflow 3 runs those in the DAG processor, so a message
    that could not be sent showed only in its log. A task's callbacks run in the worker and log
    into the task log of the run (see :mod:`invoice_hub.notifications.notifier`).
    """
    if not integration.notify.any:
        return {}
    from invoice_hub.notifications import RunNotifier

    conn_ids: list[str] = [
        conn_id
        for endpoint in [integration.source, *(d for _, d in integration.destinations_by_id())]
        if (conn_id := getattr(endpoint, "conn_id", None))
    ]
    if integration.notify.webhook is not None:
        conn_ids.append(integration.notify.webhook.conn_id)
    notify = integration.notify
    wanted = {e for e in NOTIFY_EVENTS if notify.recipients(e)} | set(
        notify.webhook.events if notify.webhook else ()
    )
    common: _NotifierArgs = {"integration": integration.name, "notify": notify, "conn_ids": conn_ids}
    callbacks: dict[str, Any] = {}
    # a rejection is told by whichever ends the run: today a rejected file fails it (archive fails)
    if wanted & {"failure", "rejection"}:
        callbacks["on_failure_callback"] = RunNotifier(trigger="failure", **common)
    if wanted & {"success", "rejection"}:
        callbacks["on_success_callback"] = RunNotifier(trigger="success", **common)
    return callbacks


def doc_md(entry: IntegrationFile) -> str:
    """What the Airflow UI shows on the DAG's page: a summary, then the integration file itself."""
    integration = entry.integration
    assert integration is not None
    source = integration.file_source
    rows = [("Kind", integration.kind), ("Schedule", integration.schedule or "manual only")]
    if integration.accounting_source is not None:
        rows.append(("Source", _endpoint(integration.accounting_source) + ": its approved invoices"))
    if source is not None:
        rows.append(
            (
                "Source",
                _endpoint(source)
                + f", pattern `{source.pattern}`"
                + (f", at least {source.min_age_seconds} s old" if source.min_age_seconds else ""),
            )
        )
        rows.append(("After success", _action(source.on_success)))
        rows.append(("After failure", _action(source.on_failure)))
    transform = integration.transform
    if integration.kind == "open_ar_reconciliation":
        reconcile = integration.reconcile
        columns = reconcile.columns if reconcile else {}
        rows.append(
            (
                "Reconcile",
                "open-AR snapshots; columns "
                + (", ".join(f"{k} = `{v}`" for k, v in columns.items()) or "recognised by their headers")
                + f"; held above {(reconcile.max_paid_fraction if reconcile else 0.5):.0%} paid",
            )
        )
    else:
        rows.append(
            (
                "Transform",
                f"`{transform.input}` → `{transform.output}`, validation `{transform.validate_}`"
                + (f", mapping `{transform.mapping}`" if transform.mapping else ""),
            )
        )
    if integration.kind == "export":
        select = integration.select
        customers = select.customers if select.customers == "all" else ", ".join(select.customers)
        rows.append(
            (
                "Select",
                f"{', '.join(select.types)} ({', '.join(select.statuses)}) by `{select.date_field}` in the run's "
                f"data interval; customers: {customers}; exported before: {integration.reexport}",
            )
        )
        for customer in integration.customers:
            own = [f"`{customer.output}`"] if customer.output else []
            own += [f"{len(customer.destinations)} destination(s)"] if customer.destinations else []
            rows.append((f"Customer {customer.id}", ", ".join(own) if customer.active else "not exported"))
    for index, destination in enumerate(integration.destinations):
        rows.append(
            (
                f"Destination {index + 1}",
                _endpoint(destination) + f", if the name exists: {destination.if_exists}",
            )
        )
    notify = integration.notify
    for event in NOTIFY_EVENTS:
        if notify.recipients(event):
            rows.append((f"Mail on {event}", ", ".join(notify.recipients(event))))
    if notify.webhook is not None:
        rows.append(
            ("Webhook", f"connection `{notify.webhook.conn_id}` on {', '.join(notify.webhook.events)}")
        )
    table = "\n".join(f"| {key} | {value} |" for key, value in rows)
    return (
        f"### {integration.name}\n\n{integration.description}\n\n| | |\n|---|---|\n{table}\n\n"
        f"Integration file `{entry.path}`:\n\n```yaml\n{entry.text.rstrip()}\n```\n"
    )


def _endpoint(endpoint: Any) -> str:
    text = f"**{endpoint.type}**"
    if getattr(endpoint, "conn_id", None):
        text += f" via connection `{endpoint.conn_id}`"
    if getattr(endpoint, "path", None):
        text += f" at `{endpoint.path}`"
    if getattr(endpoint, "to", None):
        text += " to " + ", ".join(endpoint.to)
    return text


def _action(action: Any) -> str:
    return action if isinstance(action, str) else f"move to `{action.move_to}`"


def _file_for_dag_id(folder: Path, dag_id: str) -> list[Path]:
    """The integration file named ``dag_id``: tried by file name, then by a cheap scan of ``name:`` lines."""
    for suffix in INTEGRATION_SUFFIXES:
        candidate = folder / f"{dag_id}{suffix}"
        if candidate.is_file() and dag_id.encode() in _NAME_LINE.findall(candidate.read_bytes()):
            return [candidate]
    return [
        path
        for path in integration_files([folder])
        if dag_id.encode() in _NAME_LINE.findall(path.read_bytes())
    ]


def integration_named(dag_id: str, paths: Iterable[Path] | None = None) -> Integration | None:
    """The valid integration whose DAG is ``dag_id``, found as a task run finds it (by file name,
    then by ``name:`` lines), or None. The dashboard reads its destinations and selection rules."""
    for folder in paths if paths is not None else [settings.integrations_dir()]:
        for path in _file_for_dag_id(folder, dag_id) if folder.is_dir() else [folder]:
            integration = load_integration(path).integration
            if integration is not None and integration.name == dag_id:
                return integration
    return None


def integration_dags(paths: Iterable[Path] | None = None) -> dict[str, DAG]:
    """Every valid integration's DAG, keyed by dag_id. Broken files are left out, never raised here:
    their problems are the import error of the second DAG file (see :class:`IntegrationFileProblems`).

    When Airflow runs a task it sets the parsing context's dag_id: then only that DAG is built.
    """
    folders = list(paths) if paths is not None else [settings.integrations_dir()]
    wanted = get_parsing_context().dag_id
    state: str | None = None
    if wanted:
        files = [
            path
            for folder in folders
            for path in (_file_for_dag_id(folder, wanted) if folder.is_dir() else [folder])
        ]
        entries = [load_integration(path) for path in files]
        entries = [e for e in entries if e.integration is not None and e.integration.name == wanted][:1]
    else:
        state = problem_cache.folder_state(folders)  # before loading: see problem_cache
        entries = load_folder(folders)
    dags: dict[str, DAG] = {}
    problems = [str(problem) for entry in entries for problem in entry.problems]
    for entry in entries:
        if entry.integration is None:
            continue
        try:
            dags[entry.integration.name] = build_dag(entry)
        except Exception as exc:  # one file's DAG that Airflow refuses must not take the others along
            _log.exception("%s: cannot become a DAG; the other integrations are not affected", entry.path)
            problems.append(str(ConfigProblem(entry.path, (), f"cannot become a DAG: {exc}")))
    if state is not None:
        problem_cache.remember(state, problems)  # shown by the second DAG file
    return dags
