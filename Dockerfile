# The invoice hub's image: the official Airflow image, the hub's pinned dependencies installed with
# Airflow's reproducible-install recipe (-c constraints.txt), and the project's DAG folder, plugins
# and integration files baked in, so that every worker runs exactly the same DAGs.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.txt constraints.txt /opt/airflow/
# Airflow itself is pinned in requirements.txt to the image's version, so pip keeps the image's copy.
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt

COPY --chown=airflow:root pyproject.toml /opt/airflow/
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
COPY --chown=airflow:root include/ /opt/airflow/include/
# The hub as an editable install from plugins/: the invoice-hub CLI and its provider entry point
# (connection types ftps, pop3); the code stays the one in /opt/airflow/plugins.
RUN pip install --no-cache-dir --no-deps -e /opt/airflow
