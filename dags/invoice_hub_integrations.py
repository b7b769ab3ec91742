"""The invoice hub's only Airflow DAG file: every integration file becomes a DAG.

Integration files live in include/integrations/ (or $INVOICE_HUB_INTEGRATIONS_DIR); the work is done
by invoice_hub.dag_factory, so this file stays small.
"""

from invoice_hub.dag_factory import integration_dags

globals().update(integration_dags())
