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
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM  # Ctrl-C: stop the server (the EXIT trap) and say nothing else
# A first start on a fresh machine (imports compiled, Chromium's first launch) can be slow: wait
# as long as the server is alive, up to READY_TIMEOUT_S.
READY_TIMEOUT_S="${READY_TIMEOUT_S:-300}"
deadline=$((SECONDS + READY_TIMEOUT_S))
until curl -sf "$NOTTE_API_URL/health" >/dev/null; do
    if ! kill -0 "$SERVER" 2>/dev/null; then
        echo "the server exited while starting (its log is above)" >&2
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "the server did not answer at $NOTTE_API_URL/health within ${READY_TIMEOUT_S} s" >&2
        exit 1
    fi
    sleep 0.2
done

# The example function: a new version of the same `hello` at every start, not a new function.
json_field() { .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
FUNCTION_ID=$(.venv/bin/browserfn functions --json --page-size 100 | .venv/bin/python -c '
import json, sys
named = [f["function_id"] for f in json.load(sys.stdin)["items"] if f.get("name") == "hello"]
print(named[0] if named else "")')
if [ -n "$FUNCTION_ID" ]; then
    .venv/bin/browserfn deploy examples/hello.py --function "$FUNCTION_ID" --json | json_field latest_version >/dev/null
else
    FUNCTION_ID=$(.venv/bin/browserfn deploy examples/hello.py --name hello --json | json_field function_id)
fi
.venv/bin/browserfn run "$FUNCTION_ID" --var name=browserfn --var times=2

cat <<INFO

browserfn is running at $NOTTE_API_URL  (web console: $NOTTE_API_URL/ , API docs: $NOTTE_API_URL/docs)
API key: $NOTTE_API_KEY   (saved in $DATA_DIR/api-key)
Example function: hello ($FUNCTION_ID)

In another shell, from this directory, for the CLI and the SDK:

  source .venv/bin/activate   # puts browserfn (and python with notte-sdk) on PATH
  export NOTTE_API_URL=$NOTTE_API_URL
  export NOTTE_API_KEY=$NOTTE_API_KEY
  browserfn run hello --var name=you

  curl -N \$NOTTE_API_URL/functions/$FUNCTION_ID/runs/start \\
    -H "x-notte-api-key: \$NOTTE_API_KEY" -H 'Content-Type: application/json' \\
    -d '{"workflow_id": "$FUNCTION_ID", "variables": {"name": "curl"}}'

Ctrl-C stops the server.
INFO
wait $SERVER
