#!/usr/bin/env bash
# The production topology as local processes: api-server, scheduler, dag-processor,
# triggerer and two Celery workers (CeleryExecutor), against this machine's PostgreSQL
# (metadata DB, Celery result backend, warehouse DB with a read-only BI role) and Redis
# (Celery broker). The same shape as docker-compose.yaml, without Docker.
#
#   .ci/topology.sh up [component...]     start what is not running (all by default)
#   .ci/topology.sh down [component...]   stop (SIGTERM to the process group, SIGKILL after 30 s)
#   .ci/topology.sh status                one line per component; exit 1 if one is down
#   .ci/topology.sh env                   print the environment the components run with (no secrets)
#
# Components: api-server scheduler dag-processor triggerer worker-1 worker-2
#
# Everything lives under $VIGIA_TOPOLOGY_DIR (default .topology/, git-ignored): the
# resolved settings (env), generated secrets (secrets.env, mode 600: JWT secret, Fernet key,
# API secret key, pseudonymisation key), the admin password file, AIRFLOW_HOME, pid files
# and one log per component. Settings are resolved at the first `up` and reused after, so
# `up scheduler` after `down scheduler` restarts it exactly as it was.
#
# Settings (environment, first `up` only; defaults in brackets):
#   VIGIA_TOPOLOGY_PG            server for metadata + warehouse [postgresql://postgres@127.0.0.1:5432]
#   VIGIA_TOPOLOGY_METADATA_DB   [vigia_airflow]      VIGIA_TOPOLOGY_WAREHOUSE_DB [vigia_warehouse]
#   VIGIA_TOPOLOGY_REDIS_URL     Celery broker [redis://127.0.0.1:6379/5]
#   VIGIA_TOPOLOGY_API_PORT      [8088]  (worker log servers: port+1, port+2; triggerer: port+3)
#   VIGIA_TOPOLOGY_WAREHOUSE_URI the `warehouse` connection [postgresql://<pg>/<warehouse db>]
#   VIGIA_TOPOLOGY_DATA_DIR      VIGIA_DATA_DIR of every component [data/]
#   VIGIA_TOPOLOGY_SCHEDULE      the scheduler creates scheduled runs [True]
#   VIGIA_TOPOLOGY_FAST_FAULTS   short heartbeat/orphan timeouts, for the fault tests [False]
#   VIGIA_TOPOLOGY_WORKER_CONCURRENCY  task slots per Celery worker [2]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${VIGIA_TOPOLOGY_DIR:-$ROOT/.topology}"
BIN="$ROOT/.venv/bin"
COMPONENTS=(api-server scheduler dag-processor triggerer worker-1 worker-2)
[[ "${1:-status}" != up && "${1:-status}" != env ]] || mkdir -p "$DIR/pids" "$DIR/logs"
[[ ! -d "$DIR" ]] || DIR="$(cd "$DIR" && pwd)"

# --- settings -------------------------------------------------------------------------
write_settings() {
  local pg="${VIGIA_TOPOLOGY_PG:-postgresql://postgres@127.0.0.1:5432}"
  local meta="${VIGIA_TOPOLOGY_METADATA_DB:-vigia_airflow}"
  local wh="${VIGIA_TOPOLOGY_WAREHOUSE_DB:-vigia_warehouse}"
  local port="${VIGIA_TOPOLOGY_API_PORT:-8088}"
  local fast="${VIGIA_TOPOLOGY_FAST_FAULTS:-False}"
  local pg_sqla="${pg/postgresql:\/\//postgresql+psycopg2://}"
  {
    echo "# written by .ci/topology.sh at the first 'up'; no secrets here (see secrets.env)"
    echo "VIGIA_TOPOLOGY_PG=$pg"
    echo "VIGIA_TOPOLOGY_METADATA_DB=$meta"
    echo "VIGIA_TOPOLOGY_WAREHOUSE_DB=$wh"
    echo "VIGIA_TOPOLOGY_API_PORT=$port"
    echo "AIRFLOW_HOME=$DIR/airflow"
    echo "AIRFLOW__CORE__DAGS_FOLDER=$ROOT/dags"
    echo "AIRFLOW__CORE__PLUGINS_FOLDER=$ROOT/plugins"
    echo "AIRFLOW__CORE__LOAD_EXAMPLES=False"
    echo "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True"
    echo "AIRFLOW__CORE__EXECUTOR=CeleryExecutor"
    echo "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=$pg_sqla/$meta"
    echo "AIRFLOW__CELERY__BROKER_URL=${VIGIA_TOPOLOGY_REDIS_URL:-redis://127.0.0.1:6379/5}"
    echo "AIRFLOW__CELERY__RESULT_BACKEND=db+$pg/$meta"
    echo "AIRFLOW__CELERY__WORKER_CONCURRENCY=${VIGIA_TOPOLOGY_WORKER_CONCURRENCY:-2}"
    echo "AIRFLOW__OPERATORS__DEFAULT_QUEUE=default"
    echo "AIRFLOW__API__HOST=127.0.0.1"
    echo "AIRFLOW__API__PORT=$port"
    echo "AIRFLOW__API__WORKERS=1"
    echo "AIRFLOW__API__BASE_URL=http://127.0.0.1:$port"
    # task runners on the workers talk to the api-server's Execution API
    echo "AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$port/execution/"
    echo "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=$((port + 3))"
    echo "AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    echo "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin"
    echo "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=False"
    echo "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=$DIR/simple_auth_manager_passwords.json"
    echo "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=${VIGIA_TOPOLOGY_SCHEDULE:-True}"
    echo "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30"
    echo "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES=1"
    if [[ "$fast" == "True" ]]; then
      # a killed worker's task is declared lost after 30 s instead of 5 min; a restarted
      # scheduler adopts or resets the previous one's tasks within 20 s
      echo "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=30"
      echo "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL=5"
      echo "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL=20"
      echo "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD=20"
    fi
    echo "AIRFLOW_CONN_WAREHOUSE=${VIGIA_TOPOLOGY_WAREHOUSE_URI:-$pg/$wh}"
    echo "VIGIA_DATA_DIR=${VIGIA_TOPOLOGY_DATA_DIR:-$ROOT/data}"
    echo "GX_ANALYTICS_ENABLED=False"
  } > "$DIR/env"
}

write_secrets() {
  # generated once, never committed; the admin password is in the passwords file too
  umask 077
  "$BIN/python" - "$DIR" <<'PY'
import json, secrets, sys
from pathlib import Path
from cryptography.fernet import Fernet

d = Path(sys.argv[1])
key = secrets.token_urlsafe(32)
lines = {
    "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
    "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
    "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
    "AIRFLOW_CONN_PSEUDONYM_KEY": json.dumps({"conn_type": "generic", "password": key}),
}
(d / "secrets.env").write_text("".join(f"{k}='{v}'\n" for k, v in lines.items()))
(d / "simple_auth_manager_passwords.json").write_text(json.dumps({"admin": secrets.token_urlsafe(18)}) + "\n")
PY
}

load() {
  [[ -f "$DIR/env" ]] || write_settings
  [[ -f "$DIR/secrets.env" ]] || write_secrets
  set -a
  # shellcheck disable=SC1091
  source "$DIR/env"
  # shellcheck disable=SC1091
  source "$DIR/secrets.env"
  set +a
  export PATH="$BIN:$PATH" PYTHONUNBUFFERED=1
}

# --- databases ------------------------------------------------------------------------
psql_on() { psql "$VIGIA_TOPOLOGY_PG/$1" -v ON_ERROR_STOP=1 -q "${@:2}"; }

prepare_databases() {
  local db
  for db in "$VIGIA_TOPOLOGY_METADATA_DB" "$VIGIA_TOPOLOGY_WAREHOUSE_DB"; do
    if [[ -z "$(psql_on postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
      psql_on postgres -c "CREATE DATABASE \"$db\""
    fi
  done
  # the read-only BI role (same file as the compose warehouse's init script); trust auth here
  psql_on "$VIGIA_TOPOLOGY_WAREHOUSE_DB" -v bi_password="${VIGIA_BI_PASSWORD:-}" \
    -f "$ROOT/include/sql/admin/warehouse_bi_role.sql"
  if [[ ! -f "$DIR/airflow/.migrated" ]]; then
    mkdir -p "$AIRFLOW_HOME"
    airflow db migrate > "$DIR/logs/db-migrate.log" 2>&1 || { tail -30 "$DIR/logs/db-migrate.log"; exit 1; }
    touch "$DIR/airflow/.migrated"
  fi
}

# --- processes ------------------------------------------------------------------------
pid_of() { cat "$DIR/pids/$1.pid" 2>/dev/null || true; }
alive() { local p; p="$(pid_of "$1")"; [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null; }

start() {
  local name="$1" cmd=()
  local port="$VIGIA_TOPOLOGY_API_PORT"
  case "$name" in
    api-server)    cmd=(airflow api-server --host 127.0.0.1 --port "$port" --workers 1) ;;
    scheduler)     cmd=(airflow scheduler) ;;
    dag-processor) cmd=(airflow dag-processor) ;;
    triggerer)     cmd=(airflow triggerer) ;;
    worker-1|worker-2)
      local n="${name#worker-}"
      cmd=(env "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$((port + n))" airflow celery worker --celery-hostname "vigia-$name@%h" --queues default) ;;
    *) echo "unknown component: $name (expected: ${COMPONENTS[*]})" >&2; exit 2 ;;
  esac
  if alive "$name"; then echo "$name: already running (pid $(pid_of "$name"))"; return; fi
  # its own session and process group: `down` and the fault tests signal the whole group
  setsid "${cmd[@]}" >> "$DIR/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$DIR/pids/$name.pid"
  echo "$name: started (pid $!, log $DIR/logs/$name.log)"
}

stop() {
  local name="$1" p
  p="$(pid_of "$name")"
  if ! alive "$name"; then rm -f "$DIR/pids/$name.pid"; echo "$name: not running"; return; fi
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
  kill -KILL -- "-$p" 2>/dev/null || true
  rm -f "$DIR/pids/$name.pid"
  echo "$name: stopped"
}

wait_api() {
  local url="http://127.0.0.1:$VIGIA_TOPOLOGY_API_PORT/api/v2/monitor/health"
  for _ in $(seq 1 120); do
    if curl -sf "$url" > /dev/null 2>&1; then echo "api-server: healthy at $url"; return; fi
    alive api-server || { tail -30 "$DIR/logs/api-server.log"; echo "api-server died" >&2; exit 1; }
    sleep 1
  done
  echo "api-server: not healthy after 120 s (log: $DIR/logs/api-server.log)" >&2
  exit 1
}

cmd="${1:-status}"
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${COMPONENTS[@]}")

case "$cmd" in
  up)
    load
    pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL at 127.0.0.1:5432 is down" >&2; exit 1; }
    prepare_databases
    for name in "${targets[@]}"; do start "$name"; done
    [[ " ${targets[*]} " == *" api-server "* ]] && wait_api
    echo "UI and REST API: http://127.0.0.1:$VIGIA_TOPOLOGY_API_PORT (user admin, password in" \
         "$DIR/simple_auth_manager_passwords.json)"
    ;;
  down)
    [[ -f "$DIR/env" ]] || { echo "no topology in $DIR"; exit 0; }
    for (( i=${#targets[@]}-1; i>=0; i-- )); do stop "${targets[$i]}"; done
    ;;
  status)
    rc=0
    for name in "${targets[@]}"; do
      if alive "$name"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: down"; rc=1; fi
    done
    exit $rc
    ;;
  env)
    load
    cat "$DIR/env"
    ;;
  *)
    echo "usage: $0 up|down|status|env [component...]" >&2
    exit 2
    ;;
esac
