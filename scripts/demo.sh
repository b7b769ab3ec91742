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
# Paused until the API server answers (below), also when an earlier demo left them unpaused.
airflow dags pause --treat-dag-id-as-regex --yes '^demo_' >/dev/null 2>&1 || true

# Every background service runs in a session of its own (setsid), and stopping the demo (Ctrl-C, or
# SIGTERM to make's process group) ends every process of those sessions: Airflow's task processes
# move to process groups of their own (setpgid), so a signal to the service's process group misses
# them, but they never leave its session. Nothing the demo started outlives it.
STOP_SECONDS=${INVOICE_HUB_DEMO_STOP_SECONDS:-20}
sessions=()
alive() {
  local sid
  for sid in "${sessions[@]}"; do pgrep -s "$sid" >/dev/null && return 0; done
  return 1
}
cleanup() {
  trap '' INT TERM  # a second Ctrl-C must not cut the clean-up short
  [ ${#sessions[@]} -gt 0 ] || return 0
  echo "== Stopping the demo (up to ${STOP_SECONDS} s)" >&2
  local sid deadline=$((SECONDS + STOP_SECONDS))
  for sid in "${sessions[@]}"; do pkill -TERM -s "$sid" 2>/dev/null || true; done
  while alive && [ $SECONDS -lt $deadline ]; do sleep 0.5; done
  for sid in "${sessions[@]}"; do pkill -KILL -s "$sid" 2>/dev/null || true; done
  deadline=$((SECONDS + 5))
  while alive && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if alive; then echo "Some demo processes did not stop: pgrep -s ${sessions[*]}" >&2; fi
}
# $! of `setsid cmd &` is the new session's id: a background job of a script is no process-group
# leader, so setsid does not fork. Never the script's own session (the terminal's), whatever happens.
own_session=$(ps -o sid= -p $$ | tr -d ' ')
add_session() {
  if [ "$1" != "$own_session" ]; then sessions+=("$1"); fi
}
# make passes a SIGTERM on to its recipe once more: the first thing a signal does is ignore the next
# ones, or a second TERM arriving before cleanup's own `trap ''` ran `exit` again inside the EXIT
# trap and cut the clean-up short (every service left running).
trap cleanup EXIT
trap "trap '' INT TERM; exit 130" INT
trap "trap '' INT TERM; exit 143" TERM

echo "== Starting the demo partners: a supplier's folder and an SFTP server on 127.0.0.1:$SFTP_PORT"
echo "   (a new invoice in each every 20 s; log in .demo/partners.log)"
setsid invoice-hub demo-partner .demo/supplier/outbox .demo/sftp-partner/outbox --every 20 \
  --sftp-root .demo/sftp-partner --sftp-port "$SFTP_PORT" --state .demo > .demo/partners.log 2>&1 &
add_session $!

echo "== Starting Airflow (scheduler, DAG processor, triggerer, API server); log in .demo/airflow.log"
setsid airflow standalone > .demo/airflow.log 2>&1 &
airflow_pid=$!
add_session "$airflow_pid"

# Tasks talk to the API server (the Task Execution API): started before it answers, their first tries
# time out and retry with back-off, and the first invoices came after minutes. The demo DAGs are
# unpaused only once both the UI's and the Execution API's health endpoints answer.
API_WAIT=${INVOICE_HUB_DEMO_API_WAIT:-180}
started=$SECONDS
until curl -fs "http://127.0.0.1:$PORT/api/v2/monitor/health" >/dev/null 2>&1 \
  && curl -fs "http://127.0.0.1:$PORT/execution/health" >/dev/null 2>&1; do
  if ! kill -0 "$airflow_pid" 2>/dev/null; then
    echo "airflow standalone exited; its log: .demo/airflow.log" >&2
    tail -20 .demo/airflow.log >&2
    exit 1
  fi
  if [ $((SECONDS - started)) -ge "$API_WAIT" ]; then
    echo "The API server did not answer on 127.0.0.1:$PORT within $API_WAIT s; see .demo/airflow.log" >&2
    exit 1
  fi
  sleep 1
done
echo "   the API server answers after $((SECONDS - started)) s"
airflow dags unpause --treat-dag-id-as-regex --yes '^demo_' --output plain 2>/dev/null \
  | awk '$1 ~ /^demo_/ {print "   unpaused " $1}'

password=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("admin",""))' \
  "$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated" 2>/dev/null || true)
cat <<MSG

  The invoice hub is running.
    Airflow UI:  http://127.0.0.1:$PORT
    Login:       admin / ${password:-see $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated}
  Watch the DAGs demo_supplier_inbound and demo_sftp_partner_inbound: every minute they read new
  invoices from the supplier's folder (.demo/supplier/outbox) and from the partner's SFTP server
  (/outbox, on disk in .demo/sftp-partner), check them by EN 16931 and move them to .demo/erp/inbox;
  the originals go to "processed" (an invalid one to "rejected", with its reasons).
  Press Ctrl-C to stop.

MSG
wait "$airflow_pid"
