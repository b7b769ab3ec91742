"""``notify:``: a run's failure, rejected files and success, mailed through an Airflow SMTP
connection and posted to a webhook (an Airflow HTTP connection), one message per run.

:mod:`.report` gathers what a run did from the ledger, :mod:`.message` writes it as a mail or a
webhook's JSON (redacted), :mod:`.notifier` is the task callback that sends them.
"""

from invoice_hub.notifications.notifier import RunNotifier, notification_conn_id

__all__ = ["RunNotifier", "notification_conn_id"]
