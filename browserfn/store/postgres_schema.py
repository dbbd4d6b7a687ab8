"""PostgreSQL schema: ordered migrations, applied in place under an advisory lock; the table
browserfn_schema records how many ran. Procrastinate's own schema is applied once beside it."""

from __future__ import annotations

#: Key of the advisory lock held while migrating (several servers may start at once).
MIGRATION_LOCK_KEY = 0x62666E  # "bfn"

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE accounts (
        account_id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE api_keys (
        key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at TIMESTAMPTZ NOT NULL,
        revoked_at TIMESTAMPTZ
    );
    CREATE TABLE server_secrets (
        name TEXT PRIMARY KEY,
        value BYTEA NOT NULL
    );
    CREATE TABLE functions (
        seq BIGSERIAL PRIMARY KEY,
        function_id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        name TEXT,
        description TEXT,
        shared BOOLEAN NOT NULL DEFAULT FALSE,
        latest_version TEXT NOT NULL,
        reference_function_id TEXT,
        timeout_s DOUBLE PRECISION,
        default_runtime TEXT NOT NULL DEFAULT 'standard',
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        deleted_at TIMESTAMPTZ
    );
    CREATE INDEX functions_by_account ON functions(account_id, seq) WHERE deleted_at IS NULL;
    CREATE TABLE function_versions (
        function_id TEXT NOT NULL,
        version TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        code TEXT NOT NULL,
        parameters JSONB NOT NULL,
        restricted BOOLEAN NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (function_id, version)
    );
    CREATE TABLE runs (
        seq BIGSERIAL PRIMARY KEY,
        run_id TEXT NOT NULL UNIQUE,
        function_id TEXT NOT NULL,
        function_version TEXT NOT NULL,
        account_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        state TEXT NOT NULL,
        active BOOLEAN NOT NULL,
        variables JSONB NOT NULL,
        timeout_s DOUBLE PRECISION,
        session_id TEXT,
        result_json TEXT,
        reason TEXT,
        local BOOLEAN NOT NULL DEFAULT FALSE,
        origin TEXT,
        token_hash TEXT,
        job_id BIGINT,
        last_event_seq INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        started_at TIMESTAMPTZ,
        ended_at TIMESTAMPTZ
    );
    CREATE INDEX runs_by_function ON runs(function_id, seq);
    CREATE INDEX runs_active_by_function ON runs(function_id, seq) WHERE active;
    CREATE INDEX runs_queued_by_account ON runs(account_id, seq) WHERE state = 'queued';
    CREATE INDEX runs_active_by_account ON runs(account_id, state) WHERE active;
    CREATE UNIQUE INDEX runs_by_token ON runs(token_hash) WHERE token_hash IS NOT NULL;
    CREATE INDEX runs_by_job ON runs(job_id) WHERE job_id IS NOT NULL;
    CREATE TABLE run_events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        message TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (run_id, seq)
    );
    """,
    # 2: schedules (a tick is claimed once: PRIMARY KEY (schedule_id, tick)) and webhook deliveries.
    """
    CREATE TABLE schedules (
        schedule_id TEXT PRIMARY KEY,
        function_id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        cron TEXT NOT NULL,
        timezone TEXT NOT NULL,
        variables JSONB NOT NULL,
        allow_overlap BOOLEAN NOT NULL DEFAULT FALSE,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE schedule_ticks (
        schedule_id TEXT NOT NULL,
        tick TIMESTAMPTZ NOT NULL,
        function_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        run_id TEXT,
        reason TEXT,
        claimed_by TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (schedule_id, tick)
    );
    CREATE INDEX schedule_ticks_by_function ON schedule_ticks(function_id, tick);
    CREATE TABLE webhooks (
        webhook_id TEXT PRIMARY KEY,
        function_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX webhooks_by_function ON webhooks(function_id);
    CREATE TABLE account_webhook_secrets (
        account_id TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE run_callbacks (
        run_id TEXT PRIMARY KEY,
        url TEXT NOT NULL
    );
    CREATE TABLE webhook_deliveries (
        seq BIGSERIAL PRIMARY KEY,
        delivery_id TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL,
        function_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        target TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts JSONB NOT NULL,
        next_attempt_at TIMESTAMPTZ,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        UNIQUE (run_id, target)
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_by_function ON webhook_deliveries(function_id, seq);
    """,
    # 3: a dense ordinal per (function, account), so any page of a listing is a range read.
    """
    CREATE TABLE run_counters (
        function_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        last_ordinal BIGINT NOT NULL,
        PRIMARY KEY (function_id, account_id)
    );
    ALTER TABLE runs ADD COLUMN ordinal BIGINT;
    UPDATE runs SET ordinal = numbered.n FROM (
        SELECT seq, row_number() OVER (PARTITION BY function_id, account_id ORDER BY seq) AS n FROM runs
    ) AS numbered WHERE runs.seq = numbered.seq;
    INSERT INTO run_counters(function_id, account_id, last_ordinal)
        SELECT function_id, account_id, MAX(ordinal) FROM runs GROUP BY function_id, account_id;
    CREATE UNIQUE INDEX runs_by_ordinal ON runs(function_id, account_id, ordinal);
    """,
    # 4: secrets, encrypted by browserfn.secrets before they get here (scope '' = the account's).
    """
    CREATE TABLE secrets (
        account_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        name TEXT NOT NULL,
        ciphertext BYTEA NOT NULL,
        PRIMARY KEY (account_id, scope, name)
    );
    """,
    # 5: browser sessions (any server answers for any session) and the heartbeats of their hosts.
    """
    CREATE TABLE sessions (
        seq BIGSERIAL PRIMARY KEY,
        session_id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        run_id TEXT,
        owner_url TEXT NOT NULL,
        options JSONB NOT NULL,
        idle_timeout_min INTEGER NOT NULL,
        max_duration_min INTEGER NOT NULL,
        status TEXT NOT NULL,
        close_reason TEXT,
        closed_by TEXT,
        steps INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL,
        last_accessed_at TIMESTAMPTZ NOT NULL,
        closed_at TIMESTAMPTZ
    );
    CREATE INDEX sessions_by_account ON sessions(account_id, seq);
    CREATE INDEX sessions_active_by_owner ON sessions(owner_url) WHERE status = 'active';
    CREATE INDEX sessions_by_run ON sessions(run_id) WHERE run_id IS NOT NULL;
    CREATE TABLE session_hosts (
        owner_url TEXT PRIMARY KEY,
        seen_at TIMESTAMPTZ NOT NULL
    );
    """,
)
