#!/usr/bin/env bash
# `make demo`: the hub on its embedded defaults, on nothing but this machine.
#   Airflow home in .airflow/ (SQLite, LocalExecutor, no examples, API server on 127.0.0.1 only),
#   the demo partners' folders in .demo/, the demo integrations (named demo_*) unpaused.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PORT=${INVOICE_HUB_DEMO_PORT:-8080}
SFTP_PORT=${INVOICE_HUB_DEMO_SFTP_PORT:-2222}

export AIRFLOW_HOME="$ROOT/.airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
export AIRFLOW__CORE__TEST_CONNECTION=Enabled   # the UI's "Test connection" button (off by default)
export AIRFLOW__API__HOST=127.0.0.1
export AIRFLOW__API__PORT="$PORT"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
# New and changed integration files show up within seconds rather than minutes.
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=15
export AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=15
export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=False
PATH="$ROOT/.venv/bin:$PATH"

for port_var in PORT SFTP_PORT; do
  if ss -ltn "( sport = :${!port_var} )" 2>/dev/null | grep -q LISTEN; then
    echo "Port ${!port_var} is in use; set INVOICE_HUB_DEMO_${port_var} to another port" >&2
    exit 1
  fi
done

mkdir -p "$AIRFLOW_HOME" .demo/supplier/outbox .demo/supplier/processed .demo/supplier/rejected .demo/erp/inbox \
  .demo/sftp-partner/outbox
echo "== Checking the integration files"
invoice-hub check-config
echo "== Preparing the Airflow home in $AIRFLOW_HOME"
airflow db migrate >/dev/null
# Connections hold every host and secret; integration files only name them. The demo's SFTP partner
# gets one, with its generated host key pinned (the hub verifies host keys).
airflow connections delete demo_partner_sftp >/dev/null 2>&1 || true
airflow connections add demo_partner_sftp \
  --conn-json "$(invoice-hub demo-sftp-connection --sftp-port "$SFTP_PORT" --state .demo)" >/dev/null
echo "   connection demo_partner_sftp -> sftp://127.0.0.1:$SFTP_PORT (host key pinned)"
airflow dags reserialize >/dev/null 2>&1
for dag_id in $(airflow dags list --output plain 2>/dev/null | awk '$1 ~ /^demo_/ {print $1}'); do
  airflow dags unpause "$dag_id" >/dev/null && echo "   unpaused $dag_id"
done

pids=()
# Each background service runs in a process group of its own (setsid), so stopping the demo stops
# everything it started, Airflow's scheduler, DAG processor, triggerer and API server included.
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  sleep 5
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== Starting the demo partners: a supplier's folder and an SFTP server on 127.0.0.1:$SFTP_PORT"
echo "   (a new invoice in each every 20 s; log in .demo/partners.log)"
setsid invoice-hub demo-partner .demo/supplier/outbox .demo/sftp-partner/outbox --every 20 \
  --sftp-root .demo/sftp-partner --sftp-port "$SFTP_PORT" --state .demo > .demo/partners.log 2>&1 &
pids+=($!)

echo "== Starting Airflow (scheduler, DAG processor, triggerer, API server); log in .demo/airflow.log"
setsid airflow standalone > .demo/airflow.log 2>&1 &
pids+=($!)

for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$PORT/api/v2/monitor/health" >/dev/null 2>&1 && break
  sleep 1
done
password=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("admin",""))' \
  "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated" 2>/dev/null || true)
cat <<MSG

  The invoice hub is running.
    Airflow UI:  http://127.0.0.1:$PORT
    Login:       admin / ${password:-see $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated}
  Watch the DAGs demo_supplier_inbound and demo_sftp_partner_inbound: every minute they move new
  invoices from the supplier's folder (.demo/supplier/outbox) and from the partner's SFTP server
  (/outbox, on disk in .demo/sftp-partner) to .demo/erp/inbox; the originals go to "processed".
  Press Ctrl-C to stop.

MSG
wait "${pids[1]}"
