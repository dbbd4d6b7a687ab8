#!/usr/bin/env bash
# Sets up (Chromium, virtualenv, browserfn) and starts the server on the embedded default
# (SQLite in ./data, local worker pool) with the example function deployed and run once.
# Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

PORT="${PORT:-8000}"
DATA_DIR="${DATA_DIR:-data}"
export NOTTE_API_URL="http://127.0.0.1:${PORT}"
mkdir -p "$DATA_DIR"
if [ ! -s "$DATA_DIR/api-key" ]; then
    (umask 077; .venv/bin/browserfn keys create --data-dir "$DATA_DIR" --name local | tail -1 > "$DATA_DIR/api-key")
fi
export NOTTE_API_KEY="$(cat "$DATA_DIR/api-key")"

.venv/bin/browserfn serve --data-dir "$DATA_DIR" --port "$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do
    curl -sf "$NOTTE_API_URL/health" >/dev/null && break
    sleep 0.1
done

FUNCTION_ID=$(.venv/bin/browserfn deploy examples/hello.py --name hello --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["function_id"])')
.venv/bin/browserfn run "$FUNCTION_ID" --var name=browserfn --var times=2

cat <<INFO

browserfn is running at $NOTTE_API_URL  (web console: $NOTTE_API_URL/ , API docs: $NOTTE_API_URL/docs)
API key: $NOTTE_API_KEY   (saved in $DATA_DIR/api-key)
Example function: $FUNCTION_ID

  curl -N $NOTTE_API_URL/functions/$FUNCTION_ID/runs/start \\
    -H "x-notte-api-key: $NOTTE_API_KEY" -H 'Content-Type: application/json' \\
    -d '{"workflow_id": "$FUNCTION_ID", "variables": {"name": "curl"}}'

Ctrl-C stops the server.
INFO
wait $SERVER
