"""The task callback that sends a run's notification: one mail per recipient group and one webhook
post per run, sent by the task that ended the run, so that a message that cannot go out shows in the
task log of the run it was about.

Airflow 3 runs DAG-level callbacks (``DAG(on_failure_callback=...)``) in the DAG processor: a
notification that failed (no SMTP connection, a refused login) was written only to that process's
log, where nobody operating an integration looks. Task-level callbacks run in the worker, right
after the task ended, and log into its task log. So every task carries the notifier (through the
DAG's ``default_args``): the task that fails after its retries tells of the failure (the chain
stops there, so it is the run's only failed task), and the run's last task tells of its success;
either adds the files the run rejected. A run that found no files ends skipped and tells nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import quote

from airflow.sdk import BaseNotifier

from invoice_hub.config.models import Notify, NotifyEvent


def notification_conn_id() -> str:
    """The SMTP connection ``notify:`` mails go through: the notifier's own default, ``[email]
    email_conn_id`` (``smtp_default`` unless set), which ``invoice-hub check-connection`` logs in to."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    return SmtpNotifier(to="nobody@example.com").smtp_conn_id


class RunNotifier(BaseNotifier):
    """``notify:`` of one integration as a task callback. ``trigger`` is the callback it is:
    ``failure`` (the task failed after its retries: the run failed) or ``success`` (acts in the
    DAG's last task only). ``conn_ids`` are the integration's connections, whose secrets are
    masked in every message even when this task never opened them."""

    template_fields: Sequence[str] = ()

    def __init__(
        self,
        *,
        integration: str,
        notify: Notify,
        trigger: Literal["failure", "success"],
        conn_ids: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.integration = integration
        self.notify_ = notify
        self.trigger = trigger
        self.conn_ids = tuple(conn_ids)

    def notify(self, context: Any) -> None:
        task = context.get("task")
        if self.trigger == "success" and task is not None and task.downstream_task_ids:
            return
        from invoice_hub.notifications.message import events_of, mail_groups

        report = self._report(context)
        events = events_of(report)
        problems: list[Exception] = []
        for to, told in mail_groups(self.notify_, events):
            problems += self._mail(context, report, to, told)
        webhook = self.notify_.webhook
        told = [event for event in events if webhook is not None and event in webhook.events]
        if told:
            problems += self._post(context, report, told)
        if problems:
            raise problems[0]

    def _report(self, context: Any) -> Any:
        from invoice_hub.ledger.database import get_engine
        from invoice_hub.notifications.report import RunReport, run_report
        from invoice_hub.redaction import redact

        self._mask_connections()
        ti = context["ti"]
        failed = self.trigger == "failure"
        try:
            report = run_report(get_engine(), self.integration, context["run_id"], failed=failed)
        except Exception as exc:  # the message still goes out, saying what it could not look up
            self.log.exception("invoice hub: the ledger could not be read for the run's notification")
            report = RunReport(self.integration, context["run_id"], failed)
            report.ledger_problem = redact(f"{type(exc).__name__}: {exc}")
        if failed:
            error = context.get("exception")
            report.failed_task = ti.task_id
            report.error = redact(str(error)) if error else None
            report.log_url = ti.log_url
        else:
            report.log_url = _run_url(ti.dag_id, context["run_id"])
        return report

    def _mask_connections(self) -> None:
        """Register the integration's connection secrets with the redactor: a reason the ledger kept
        is clean already, but this task's own error may quote any of them."""
        from airflow.sdk import BaseHook

        from invoice_hub.redaction import register_connection

        for conn_id in self.conn_ids:
            try:
                register_connection(BaseHook.get_connection(conn_id))
            except Exception as exc:  # a missing connection failed the run already: no secret to mask
                self.log.debug("connection %r not masked in the notification: %s", conn_id, exc)

    def _mail(self, context: Any, report: Any, to: list[str], told: list[NotifyEvent]) -> list[Exception]:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        from invoice_hub.notifications.message import html_body, subject

        mail = SmtpNotifier(to=to, subject=subject(report, told), html_content=html_body(report, told))
        try:
            mail.notify(context)  # not mail(context): the text is final, no Jinja rendering of file names
        except Exception as exc:
            self.log.error(
                "invoice hub: could not mail the %s notification of %s to %s through the Airflow SMTP "
                "connection %r (%s: %s). Add or fix that connection, e.g. `airflow connections add %s "
                "--conn-uri 'smtp://USER:PASSWORD@mail.example.com:587?from_email=hub%%40example.com'`, "
                "or point [email] email_conn_id at the connection to use.",
                " and ".join(told),
                self.integration,
                ", ".join(to),
                mail.smtp_conn_id,
                type(exc).__name__,
                exc,
                mail.smtp_conn_id,
            )
            return [exc]
        self.log.info("Mailed the %s notification to %s", " and ".join(told), ", ".join(to))
        return []

    def _post(self, context: Any, report: Any, told: list[NotifyEvent]) -> list[Exception]:
        from airflow.providers.http.notifications.http import HttpNotifier

        from invoice_hub.notifications.message import webhook_payload

        assert self.notify_.webhook is not None
        conn_id = self.notify_.webhook.conn_id
        post = HttpNotifier(http_conn_id=conn_id, json=webhook_payload(report, told))
        try:
            post.notify(context)
        except Exception as exc:
            from invoice_hub.redaction import redact

            self.log.error(
                "invoice hub: could not post the %s notification of %s to the webhook of the Airflow HTTP "
                "connection %r (%s: %s). Add or fix that connection (its URL is where the JSON goes), "
                'e.g. `airflow connections add %s --conn-json \'{"conn_type": "http", "host": '
                '"https://chat.example.com/hooks/TOKEN"}\'`.',
                " and ".join(told),
                self.integration,
                conn_id,
                type(exc).__name__,
                redact(str(exc)),
                conn_id,
            )
            return [exc]
        self.log.info("Posted the %s notification to the webhook %r", " and ".join(told), conn_id)
        return []


def _run_url(dag_id: str, run_id: str) -> str:
    """The run's page in the Airflow 3 UI, from ``[api] base_url`` as ``ti.log_url`` builds it."""
    from airflow.sdk.configuration import conf

    base = conf.get("api", "base_url", fallback="http://localhost:8080/")
    return f"{base.rstrip('/')}/dags/{dag_id}/runs/{quote(run_id)}"
