# The invoice hub's image: the official Airflow image, the hub's pinned dependencies installed with
# Airflow's reproducible-install recipe (-c constraints.txt), and the project's DAG folder, plugins
# and integration files baked in, so that every worker runs exactly the same DAGs.

# The conversion modules compiled with Cython (plugins/invoice_hub/compiled.py), in a stage of its own
# so that the compiler stays out of the image. The apt lines are Airflow's documented recipe for
# adding a package to its image. Compiling reads only the sources: no other dependency is needed.
FROM apache/airflow:3.3.2-python3.11 AS compiled
USER root
RUN apt-get update \
  && apt-get install -y --no-install-recommends gcc libc6-dev \
  && apt-get autoremove -yqq --purge \
  && apt-get clean \
  && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:root constraints.txt /opt/airflow/
RUN pip install --no-cache-dir cython setuptools -c /opt/airflow/constraints.txt
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
RUN python /opt/airflow/plugins/invoice_hub/compiled.py

FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.txt constraints.txt /opt/airflow/
# Airflow itself is pinned in requirements.txt to the image's version, so pip keeps the image's copy.
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt

COPY --chown=airflow:root pyproject.toml /opt/airflow/
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
# Built from exactly these plugins/ sources (compiled.py uses them only while that holds).
COPY --from=compiled --chown=airflow:root /opt/airflow/plugins/invoice_hub/_compiled/ /opt/airflow/plugins/invoice_hub/_compiled/
COPY --chown=airflow:root include/ /opt/airflow/include/
# The hub as an editable install from plugins/: the invoice-hub CLI and its provider entry point
# (connection types ftps, pop3); the code stays the one in /opt/airflow/plugins.
RUN pip install --no-cache-dir --no-deps -e /opt/airflow
