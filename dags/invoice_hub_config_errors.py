"""The invoice hub's second Airflow DAG file: it builds no DAG. When integration files are broken, their
problems are its import error, shown in the Airflow UI ("DAG Import Errors").

Kept apart from invoice_hub_integrations.py on purpose: Airflow marks every DAG of a file that has an
import error as stale, so the problems raised here never stop the valid integrations' DAGs.
"""

from invoice_hub.dag_factory import raise_config_problems

raise_config_problems()
