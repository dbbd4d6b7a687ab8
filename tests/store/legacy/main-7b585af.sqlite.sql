PRAGMA user_version = 5;
BEGIN TRANSACTION;
CREATE TABLE account_webhook_secrets (
        account_id TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
INSERT INTO "account_webhook_secrets" VALUES('8be2125a-9cd1-4c00-a711-2680861dc5c3','acct-secret','2026-12-06T13:30:24.890700+00:00');
CREATE TABLE accounts (
        account_id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
INSERT INTO "accounts" VALUES('8be2125a-9cd1-4c00-a711-2680861dc5c3','acme','2026-12-06T13:30:24.883576+00:00');
INSERT INTO "accounts" VALUES('25adc39e-3b6a-405a-aa62-9655d6407d84','other','2026-12-06T13:30:24.883997+00:00');
CREATE TABLE api_keys (
        key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL REFERENCES accounts(account_id),
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
INSERT INTO "api_keys" VALUES('5ac1dd5b-1a95-474e-93d2-39aec8569b6c','8be2125a-9cd1-4c00-a711-2680861dc5c3','ci','bfn_ci','hash-ci','2026-12-06T13:30:24.884103+00:00',NULL);
INSERT INTO "api_keys" VALUES('94b9feed-4286-41b1-ae73-0afda5f80297','8be2125a-9cd1-4c00-a711-2680861dc5c3','old','bfn_ol','hash-old','2026-12-06T13:30:24.884237+00:00','2026-12-06T13:30:24.884327+00:00');
INSERT INTO "api_keys" VALUES('563a15d7-df5c-4592-b1cf-0dfe19dcf52d','25adc39e-3b6a-405a-aa62-9655d6407d84','theirs','bfn_th','hash-theirs','2026-12-06T13:30:24.884417+00:00',NULL);
CREATE TABLE function_versions (
        function_id TEXT NOT NULL,
        version TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        code TEXT NOT NULL,
        parameters TEXT NOT NULL,
        restricted INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (function_id, version)
    ) WITHOUT ROWID;
INSERT INTO "function_versions" VALUES('fn-1','1',1,'def run(name, n=2): ...','[{"name": "name", "type": "str", "default": null}, {"name": "n", "type": "int", "default": "2"}]',1,'2026-12-01T09:30:00.123456+00:00');
INSERT INTO "function_versions" VALUES('fn-1','2',2,'def run(name): ...','[{"name": "name", "type": "str", "default": null}]',0,'2026-12-01T09:30:01.123456+00:00');
INSERT INTO "function_versions" VALUES('fn-gone','1',1,'def run(): ...','[]',1,'2026-12-01T09:30:02.123456+00:00');
CREATE TABLE functions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        function_id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        name TEXT,
        description TEXT,
        shared INTEGER NOT NULL DEFAULT 0,
        latest_version TEXT NOT NULL,
        reference_function_id TEXT,
        timeout_s REAL,
        default_runtime TEXT NOT NULL DEFAULT 'standard',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        deleted_at TEXT
    );
INSERT INTO "functions" VALUES(1,'fn-1','8be2125a-9cd1-4c00-a711-2680861dc5c3','greet ☃','says hi twice',1,'2',NULL,30.0,'standard','2026-12-01T09:30:00.123456+00:00','2026-12-06T13:30:24.885325+00:00',NULL);
INSERT INTO "functions" VALUES(2,'fn-gone','8be2125a-9cd1-4c00-a711-2680861dc5c3','gone',NULL,0,'1',NULL,NULL,'standard','2026-12-01T09:30:02.123456+00:00','2026-12-01T09:30:02.123456+00:00','2026-12-06T13:30:24.885636+00:00');
CREATE TABLE run_callbacks (
        run_id TEXT PRIMARY KEY,
        url TEXT NOT NULL
    );
INSERT INTO "run_callbacks" VALUES('run-1','https://example.com/callback');
CREATE TABLE run_counters (
        function_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        last_ordinal INTEGER NOT NULL,
        PRIMARY KEY (function_id, account_id)
    ) WITHOUT ROWID;
INSERT INTO "run_counters" VALUES('fn-1','8be2125a-9cd1-4c00-a711-2680861dc5c3',6);
CREATE TABLE run_events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        message TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID;
INSERT INTO "run_events" VALUES('run-1',1,'log','line 0 of run 1 ✓','2026-12-06T13:30:24.886309+00:00');
INSERT INTO "run_events" VALUES('run-1',2,'log','line 1 of run 1 ✓','2026-12-06T13:30:24.886309+00:00');
INSERT INTO "run_events" VALUES('run-1',3,'log','line 2 of run 1 ✓','2026-12-06T13:30:24.886309+00:00');
INSERT INTO "run_events" VALUES('run-1',4,'log','bye','2026-12-06T13:30:24.886579+00:00');
INSERT INTO "run_events" VALUES('run-1',5,'result','{"run": "run-1", "state": "succeeded"}','2026-12-06T13:30:24.886579+00:00');
INSERT INTO "run_events" VALUES('run-2',1,'log','line 0 of run 2 ✓','2026-12-06T13:30:24.887024+00:00');
INSERT INTO "run_events" VALUES('run-2',2,'log','line 1 of run 2 ✓','2026-12-06T13:30:24.887024+00:00');
INSERT INTO "run_events" VALUES('run-2',3,'log','line 2 of run 2 ✓','2026-12-06T13:30:24.887024+00:00');
INSERT INTO "run_events" VALUES('run-2',4,'log','bye','2026-12-06T13:30:24.887291+00:00');
INSERT INTO "run_events" VALUES('run-2',5,'result','{"run": "run-2", "state": "failed"}','2026-12-06T13:30:24.887291+00:00');
INSERT INTO "run_events" VALUES('run-3',1,'log','line 0 of run 3 ✓','2026-12-06T13:30:24.887819+00:00');
INSERT INTO "run_events" VALUES('run-3',2,'log','line 1 of run 3 ✓','2026-12-06T13:30:24.887819+00:00');
INSERT INTO "run_events" VALUES('run-3',3,'log','line 2 of run 3 ✓','2026-12-06T13:30:24.887819+00:00');
INSERT INTO "run_events" VALUES('run-3',4,'log','bye','2026-12-06T13:30:24.888009+00:00');
INSERT INTO "run_events" VALUES('run-3',5,'result','{"run": "run-3", "state": "succeeded"}','2026-12-06T13:30:24.888009+00:00');
INSERT INTO "run_events" VALUES('run-4',1,'log','line 0 of run 4 ✓','2026-12-06T13:30:24.888431+00:00');
INSERT INTO "run_events" VALUES('run-4',2,'log','line 1 of run 4 ✓','2026-12-06T13:30:24.888431+00:00');
INSERT INTO "run_events" VALUES('run-4',3,'log','line 2 of run 4 ✓','2026-12-06T13:30:24.888431+00:00');
INSERT INTO "run_events" VALUES('run-5',1,'log','line 0 of run 5 ✓','2026-12-06T13:30:24.888819+00:00');
INSERT INTO "run_events" VALUES('run-5',2,'log','line 1 of run 5 ✓','2026-12-06T13:30:24.888819+00:00');
INSERT INTO "run_events" VALUES('run-5',3,'log','line 2 of run 5 ✓','2026-12-06T13:30:24.888819+00:00');
CREATE TABLE runs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL UNIQUE,
        function_id TEXT NOT NULL,
        function_version TEXT NOT NULL,
        account_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        state TEXT NOT NULL,
        active INTEGER NOT NULL,
        variables TEXT NOT NULL,
        timeout_s REAL,
        session_id TEXT,
        result_json TEXT,
        reason TEXT,
        local INTEGER NOT NULL DEFAULT 0,
        origin TEXT,
        token_hash TEXT,
        last_event_seq INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        started_at TEXT,
        ended_at TEXT
    , ordinal INTEGER);
INSERT INTO "runs" VALUES(1,'run-1','fn-1','2','8be2125a-9cd1-4c00-a711-2680861dc5c3','5ac1dd5b-1a95-474e-93d2-39aec8569b6c','succeeded',0,'{"name": "\u00e9", "n": [1, 2]}',60.0,NULL,'{"answer": 1}',NULL,0,'start',NULL,5,'2026-12-01T09:30:11.123456+00:00','2026-12-06T13:30:24.886451+00:00','2026-12-01T09:30:21.123456+00:00','2026-12-06T13:30:24.886451+00:00',1);
INSERT INTO "runs" VALUES(2,'run-2','fn-1','2','8be2125a-9cd1-4c00-a711-2680861dc5c3','5ac1dd5b-1a95-474e-93d2-39aec8569b6c','failed',0,'{"name": "\u00e9", "n": [1, 2]}',60.0,NULL,NULL,'it broke',0,'start',NULL,5,'2026-12-01T09:30:12.123456+00:00','2026-12-06T13:30:24.887201+00:00','2026-12-01T09:30:22.123456+00:00','2026-12-06T13:30:24.887201+00:00',2);
INSERT INTO "runs" VALUES(3,'run-3','fn-1','2','8be2125a-9cd1-4c00-a711-2680861dc5c3','5ac1dd5b-1a95-474e-93d2-39aec8569b6c','succeeded',0,'{"name": "\u00e9", "n": [1, 2]}',60.0,NULL,'{"answer": 3}',NULL,0,'start',NULL,5,'2026-12-01T09:30:13.123456+00:00','2026-12-06T13:30:24.887932+00:00','2026-12-01T09:30:23.123456+00:00','2026-12-06T13:30:24.887932+00:00',3);
INSERT INTO "runs" VALUES(4,'run-4','fn-1','2','8be2125a-9cd1-4c00-a711-2680861dc5c3','5ac1dd5b-1a95-474e-93d2-39aec8569b6c','running',1,'{"name": "\u00e9", "n": [1, 2]}',60.0,'sess-1',NULL,NULL,0,'start','token-4',3,'2026-12-01T09:30:14.123456+00:00','2026-12-06T13:30:24.889055+00:00','2026-12-01T09:30:24.123456+00:00',NULL,4);
INSERT INTO "runs" VALUES(5,'run-5','fn-1','2','8be2125a-9cd1-4c00-a711-2680861dc5c3','5ac1dd5b-1a95-474e-93d2-39aec8569b6c','running',1,'{"name": "\u00e9", "n": [1, 2]}',60.0,NULL,NULL,NULL,0,'start','token-5',3,'2026-12-01T09:30:15.123456+00:00','2026-12-06T13:30:24.888673+00:00','2026-12-01T09:30:25.123456+00:00',NULL,5);
INSERT INTO "runs" VALUES(6,'run-created','fn-1','2','8be2125a-9cd1-4c00-a711-2680861dc5c3','5ac1dd5b-1a95-474e-93d2-39aec8569b6c','created',1,'{"name": "\u00e9", "n": [1, 2]}',NULL,NULL,NULL,NULL,1,'create',NULL,0,'2026-12-01T09:30:30.123456+00:00','2026-12-01T09:30:30.123456+00:00',NULL,NULL,6);
CREATE TABLE schedule_ticks (
        schedule_id TEXT NOT NULL,
        tick TEXT NOT NULL,
        function_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        run_id TEXT,
        reason TEXT,
        claimed_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (schedule_id, tick)
    ) WITHOUT ROWID;
INSERT INTO "schedule_ticks" VALUES('sched-1','2026-12-01T09:35:00.123456+00:00','fn-1','started','run-5',NULL,'server-a','2026-12-06T13:30:24.890169+00:00','2026-12-06T13:30:24.890380+00:00');
INSERT INTO "schedule_ticks" VALUES('sched-1','2026-12-01T09:40:00.123456+00:00','fn-1','skipped',NULL,'run run-5 of the tick at 2026-12-01T09:35:00.123456+00:00 is still active','server-a','2026-12-06T13:30:24.890466+00:00','2026-12-06T13:30:24.890466+00:00');
CREATE TABLE schedules (
        schedule_id TEXT PRIMARY KEY,
        function_id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        cron TEXT NOT NULL,
        timezone TEXT NOT NULL,
        variables TEXT NOT NULL,
        allow_overlap INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
INSERT INTO "schedules" VALUES('sched-1','fn-1','8be2125a-9cd1-4c00-a711-2680861dc5c3','5ac1dd5b-1a95-474e-93d2-39aec8569b6c','*/5 * * * *','Europe/Paris','{"name": "cron"}',0,'2026-12-01T09:30:50.123456+00:00','2026-12-01T09:30:50.123456+00:00');
CREATE TABLE secrets (
        account_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        name TEXT NOT NULL,
        ciphertext BLOB NOT NULL,
        PRIMARY KEY (account_id, scope, name)
    );
INSERT INTO "secrets" VALUES('8be2125a-9cd1-4c00-a711-2680861dc5c3','','API_TOKEN',X'00636970686572746578742D31');
INSERT INTO "secrets" VALUES('8be2125a-9cd1-4c00-a711-2680861dc5c3','fn-1','PASSWORD',X'636970686572746578742D32FF');
INSERT INTO "secrets" VALUES('25adc39e-3b6a-405a-aa62-9655d6407d84','','THEIRS',X'636970686572746578742D33');
CREATE TABLE server_secrets (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );
INSERT INTO "server_secrets" VALUES('links',X'E342B1FCBBB150A0A9E207A11A5D582C7AEB80B522059418EDEEA3A119A88898');
CREATE TABLE session_hosts (
        owner_url TEXT PRIMARY KEY,
        seen_at TEXT NOT NULL
    );
INSERT INTO "session_hosts" VALUES('http://127.0.0.1:9001','2026-12-06T13:30:24.889899+00:00');
CREATE TABLE sessions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        run_id TEXT,
        owner_url TEXT NOT NULL,
        options TEXT NOT NULL,
        idle_timeout_min INTEGER NOT NULL,
        max_duration_min INTEGER NOT NULL,
        status TEXT NOT NULL,
        close_reason TEXT,
        closed_by TEXT,
        steps INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        last_accessed_at TEXT NOT NULL,
        closed_at TEXT
    );
INSERT INTO "sessions" VALUES(1,'sess-1','8be2125a-9cd1-4c00-a711-2680861dc5c3','run-4','http://127.0.0.1:9001','{"headless": true, "viewport": {"width": 1280}}',5,30,'active',NULL,NULL,0,'2026-12-01T09:30:40.123456+00:00','2026-12-01T09:30:41.123456+00:00',NULL);
INSERT INTO "sessions" VALUES(2,'sess-2','8be2125a-9cd1-4c00-a711-2680861dc5c3',NULL,'http://127.0.0.1:9001','{}',3,20,'closed','manual','a stop call',7,'2026-12-01T09:30:42.123456+00:00','2026-12-01T09:30:44.123456+00:00','2026-12-01T09:30:44.123456+00:00');
CREATE TABLE webhook_deliveries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL,
        function_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        target TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts TEXT NOT NULL,
        next_attempt_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (run_id, target)
    );
INSERT INTO "webhook_deliveries" VALUES(1,'del-hook-1','run-1','fn-1','8be2125a-9cd1-4c00-a711-2680861dc5c3','hook-1','https://example.com/hook','whsec-1','{"run": "run-1"}','pending','[{"at": "2026-12-01T09:31:11.123456+00:00", "status_code": 500, "error": "server error"}]','2026-12-01T09:31:30.123456+00:00','2026-12-01T09:31:10.123456+00:00','2026-12-01T09:31:11.123456+00:00');
INSERT INTO "webhook_deliveries" VALUES(2,'del-callback','run-1','fn-1','8be2125a-9cd1-4c00-a711-2680861dc5c3','callback','https://example.com/callback','whsec-1','{"run": "run-1"}','delivered','[{"at": "2026-12-01T09:31:12.123456+00:00", "status_code": 200, "error": null}]',NULL,'2026-12-01T09:31:10.123456+00:00','2026-12-01T09:31:12.123456+00:00');
CREATE TABLE webhooks (
        webhook_id TEXT PRIMARY KEY,
        function_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
INSERT INTO "webhooks" VALUES('hook-1','fn-1','8be2125a-9cd1-4c00-a711-2680861dc5c3','https://example.com/hook','whsec-1','2026-12-01T09:31:00.123456+00:00');
CREATE INDEX functions_by_account ON functions(account_id, seq) WHERE deleted_at IS NULL;
CREATE INDEX runs_by_function ON runs(function_id, seq);
CREATE INDEX runs_active_by_function ON runs(function_id, seq) WHERE active = 1;
CREATE INDEX runs_by_account_state ON runs(account_id, state) WHERE active = 1;
CREATE UNIQUE INDEX runs_by_token ON runs(token_hash) WHERE token_hash IS NOT NULL;
CREATE INDEX schedule_ticks_by_function ON schedule_ticks(function_id, tick);
CREATE INDEX webhooks_by_function ON webhooks(function_id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_function ON webhook_deliveries(function_id, seq);
CREATE UNIQUE INDEX runs_by_ordinal ON runs(function_id, account_id, ordinal);
CREATE INDEX sessions_by_account ON sessions(account_id, seq);
CREATE INDEX sessions_active_by_owner ON sessions(owner_url) WHERE status = 'active';
CREATE INDEX sessions_by_run ON sessions(run_id) WHERE run_id IS NOT NULL;
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('functions',2);
INSERT INTO "sqlite_sequence" VALUES('runs',6);
INSERT INTO "sqlite_sequence" VALUES('sessions',2);
INSERT INTO "sqlite_sequence" VALUES('webhook_deliveries',2);
COMMIT;
