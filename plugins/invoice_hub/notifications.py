"""The mails of ``notify:``, sent by the tasks themselves so that a mail that cannot go out shows in the
task log of the run it was about.

Airflow 3 runs DAG-level callbacks (``DAG(on_failure_callback=...)``) in the DAG processor: a
notification that failed (no SMTP connection, a refused login) was written only to that process's
log, where nobody operating an integration looks. Task-level callbacks run in the worker, right
after the task ended, and log into its task log. So every task carries the notifiers (through the
DAG's ``default_args``): the task that fails after its retries mails ``on_failure``, and the run's
last task mails ``on_success`` when it succeeds; a notifier that cannot send says in that task's log
which connection it needs and how to add it.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.smtp.notifications.smtp import SmtpNotifier


def notification_conn_id() -> str:
    """The SMTP connection ``notify:`` mails go through: the notifier's own default, ``[email]
    email_conn_id`` (``smtp_default`` unless set), which ``invoice-hub check-connection`` logs in to."""
    return SmtpNotifier(to="nobody@example.com").smtp_conn_id


class HubMailNotifier(SmtpNotifier):
    """``SmtpNotifier`` as a task callback: ``last_task_only`` sends from the DAG's last task only (one
    mail per run, not one per task), and a mail that cannot be sent is an error in the task log that
    names the connection and the fix, before Airflow's own traceback of it."""

    def __init__(self, *, integration: str, event: str, last_task_only: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration = integration
        self.event = event
        self.last_task_only = last_task_only

    def notify(self, context: Any) -> None:
        task = context.get("task")
        if self.last_task_only and task is not None and task.downstream_task_ids:
            return
        try:
            super().notify(context)
        except Exception as exc:
            to = ", ".join(self.to) if isinstance(self.to, list | tuple) else str(self.to)
            self.log.error(
                "invoice hub: could not mail the %s notification of %s to %s through the Airflow SMTP "
                "connection %r (%s: %s). Add or fix that connection, e.g. `airflow connections add %s "
                "--conn-uri 'smtp://USER:PASSWORD@mail.example.com:587?from_email=hub%%40example.com'`, "
                "or point [email] email_conn_id at the connection to use.",
                self.event,
                self.integration,
                to,
                self.smtp_conn_id,
                type(exc).__name__,
                exc,
                self.smtp_conn_id,
            )
            raise
