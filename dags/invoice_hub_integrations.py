"""The invoice hub's Airflow DAG file: every valid integration file becomes a DAG.

Integration files live in include/integrations/ (or $INVOICE_HUB_INTEGRATIONS_DIR); the work is done
by invoice_hub.dag_factory, so this file stays small. Broken integration files are left out here and
reported by the other DAG file, invoice_hub_config_errors.py, so that they never stop these DAGs.
(Airflow's safe mode parses only files that mention both "airflow" and "dag": this docstring does.)
"""

from invoice_hub.dag_factory import integration_dags

globals().update(integration_dags())
