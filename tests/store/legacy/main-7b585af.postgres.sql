--
-- PostgreSQL database dump
--

\restrict 8csdQkg5cKaGv2STaGDLuUXOAXafxY3CtXxSGahqGHi3nhe579561X3VPmaB3DF

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: account_webhook_secrets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.account_webhook_secrets (
    account_id text NOT NULL,
    secret text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: accounts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.accounts (
    account_id text NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: api_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_keys (
    key_id text NOT NULL,
    account_id text NOT NULL,
    name text NOT NULL,
    prefix text NOT NULL,
    secret_hash text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone
);


--
-- Name: browserfn_schema; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.browserfn_schema (
    version integer NOT NULL
);


--
-- Name: function_versions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.function_versions (
    function_id text NOT NULL,
    version text NOT NULL,
    ordinal integer NOT NULL,
    code text NOT NULL,
    parameters jsonb NOT NULL,
    restricted boolean NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: functions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.functions (
    seq bigint NOT NULL,
    function_id text NOT NULL,
    account_id text NOT NULL,
    name text,
    description text,
    shared boolean DEFAULT false NOT NULL,
    latest_version text NOT NULL,
    reference_function_id text,
    timeout_s double precision,
    default_runtime text DEFAULT 'standard'::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    deleted_at timestamp with time zone
);


--
-- Name: functions_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.functions_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: functions_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.functions_seq_seq OWNED BY public.functions.seq;


--
-- Name: run_callbacks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.run_callbacks (
    run_id text NOT NULL,
    url text NOT NULL
);


--
-- Name: run_counters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.run_counters (
    function_id text NOT NULL,
    account_id text NOT NULL,
    last_ordinal bigint NOT NULL
);


--
-- Name: run_events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.run_events (
    run_id text NOT NULL,
    seq integer NOT NULL,
    type text NOT NULL,
    message text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.runs (
    seq bigint NOT NULL,
    run_id text NOT NULL,
    function_id text NOT NULL,
    function_version text NOT NULL,
    account_id text NOT NULL,
    key_id text NOT NULL,
    state text NOT NULL,
    active boolean NOT NULL,
    variables jsonb NOT NULL,
    timeout_s double precision,
    session_id text,
    result_json text,
    reason text,
    local boolean DEFAULT false NOT NULL,
    origin text,
    token_hash text,
    job_id bigint,
    last_event_seq integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    started_at timestamp with time zone,
    ended_at timestamp with time zone,
    ordinal bigint
);


--
-- Name: runs_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.runs_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: runs_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.runs_seq_seq OWNED BY public.runs.seq;


--
-- Name: schedule_ticks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schedule_ticks (
    schedule_id text NOT NULL,
    tick timestamp with time zone NOT NULL,
    function_id text NOT NULL,
    outcome text NOT NULL,
    run_id text,
    reason text,
    claimed_by text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: schedules; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schedules (
    schedule_id text NOT NULL,
    function_id text NOT NULL,
    account_id text NOT NULL,
    key_id text NOT NULL,
    cron text NOT NULL,
    timezone text NOT NULL,
    variables jsonb NOT NULL,
    allow_overlap boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: secrets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.secrets (
    account_id text NOT NULL,
    scope text NOT NULL,
    name text NOT NULL,
    ciphertext bytea NOT NULL
);


--
-- Name: server_secrets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.server_secrets (
    name text NOT NULL,
    value bytea NOT NULL
);


--
-- Name: session_hosts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.session_hosts (
    owner_url text NOT NULL,
    seen_at timestamp with time zone NOT NULL
);


--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sessions (
    seq bigint NOT NULL,
    session_id text NOT NULL,
    account_id text NOT NULL,
    run_id text,
    owner_url text NOT NULL,
    options jsonb NOT NULL,
    idle_timeout_min integer NOT NULL,
    max_duration_min integer NOT NULL,
    status text NOT NULL,
    close_reason text,
    closed_by text,
    steps integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    last_accessed_at timestamp with time zone NOT NULL,
    closed_at timestamp with time zone
);


--
-- Name: sessions_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.sessions_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: sessions_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.sessions_seq_seq OWNED BY public.sessions.seq;


--
-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_deliveries (
    seq bigint NOT NULL,
    delivery_id text NOT NULL,
    run_id text NOT NULL,
    function_id text NOT NULL,
    account_id text NOT NULL,
    target text NOT NULL,
    url text NOT NULL,
    secret text NOT NULL,
    payload text NOT NULL,
    status text NOT NULL,
    attempts jsonb NOT NULL,
    next_attempt_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: webhook_deliveries_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhook_deliveries_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: webhook_deliveries_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhook_deliveries_seq_seq OWNED BY public.webhook_deliveries.seq;


--
-- Name: webhooks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhooks (
    webhook_id text NOT NULL,
    function_id text NOT NULL,
    account_id text NOT NULL,
    url text NOT NULL,
    secret text NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: functions seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.functions ALTER COLUMN seq SET DEFAULT nextval('public.functions_seq_seq'::regclass);


--
-- Name: runs seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs ALTER COLUMN seq SET DEFAULT nextval('public.runs_seq_seq'::regclass);


--
-- Name: sessions seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions ALTER COLUMN seq SET DEFAULT nextval('public.sessions_seq_seq'::regclass);


--
-- Name: webhook_deliveries seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries ALTER COLUMN seq SET DEFAULT nextval('public.webhook_deliveries_seq_seq'::regclass);


--
-- Data for Name: account_webhook_secrets; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.account_webhook_secrets (account_id, secret, created_at) FROM stdin;
44964944-319a-4be5-bfc3-175e6d651732	acct-secret	2026-12-06 13:30:29.740639+00
\.


--
-- Data for Name: accounts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.accounts (account_id, name, created_at) FROM stdin;
44964944-319a-4be5-bfc3-175e6d651732	acme	2026-12-06 13:30:28.207264+00
2a704051-705d-45f7-a1f9-34c75028024d	other	2026-12-06 13:30:28.23761+00
\.


--
-- Data for Name: api_keys; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.api_keys (key_id, account_id, name, prefix, secret_hash, created_at, revoked_at) FROM stdin;
ea3844a5-adcb-419b-a064-91c940427f16	44964944-319a-4be5-bfc3-175e6d651732	ci	bfn_ci	hash-ci	2026-12-06 13:30:28.2754+00	\N
f85982c0-44d5-43e6-a76e-b4242e39d613	44964944-319a-4be5-bfc3-175e6d651732	old	bfn_ol	hash-old	2026-12-06 13:30:28.287295+00	2026-12-06 13:30:28.327367+00
b0b39007-50fa-4f6d-8434-54f3b9e266d6	2a704051-705d-45f7-a1f9-34c75028024d	theirs	bfn_th	hash-theirs	2026-12-06 13:30:28.336081+00	\N
\.


--
-- Data for Name: browserfn_schema; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.browserfn_schema (version) FROM stdin;
5
\.


--
-- Data for Name: function_versions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.function_versions (function_id, version, ordinal, code, parameters, restricted, created_at) FROM stdin;
fn-1	1	1	def run(name, n=2): ...	[{"name": "name", "type": "str", "default": null}, {"name": "n", "type": "int", "default": "2"}]	t	2026-12-01 09:30:00.123456+00
fn-1	2	2	def run(name): ...	[{"name": "name", "type": "str", "default": null}]	f	2026-12-01 09:30:01.123456+00
fn-gone	1	1	def run(): ...	[]	t	2026-12-01 09:30:02.123456+00
\.


--
-- Data for Name: functions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.functions (seq, function_id, account_id, name, description, shared, latest_version, reference_function_id, timeout_s, default_runtime, created_at, updated_at, deleted_at) FROM stdin;
1	fn-1	44964944-319a-4be5-bfc3-175e6d651732	greet ☃	says hi twice	t	2	\N	30	standard	2026-12-01 09:30:00.123456+00	2026-12-06 13:30:28.555211+00	\N
2	fn-gone	44964944-319a-4be5-bfc3-175e6d651732	gone	\N	f	1	\N	\N	standard	2026-12-01 09:30:02.123456+00	2026-12-01 09:30:02.123456+00	2026-12-06 13:30:28.606752+00
\.


--
-- Data for Name: run_callbacks; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.run_callbacks (run_id, url) FROM stdin;
run-1	https://example.com/callback
\.


--
-- Data for Name: run_counters; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.run_counters (function_id, account_id, last_ordinal) FROM stdin;
fn-1	44964944-319a-4be5-bfc3-175e6d651732	6
\.


--
-- Data for Name: run_events; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.run_events (run_id, seq, type, message, created_at) FROM stdin;
run-1	1	log	line 0 of run 1 ✓	2026-12-06 13:30:28.739338+00
run-1	2	log	line 1 of run 1 ✓	2026-12-06 13:30:28.739338+00
run-1	3	log	line 2 of run 1 ✓	2026-12-06 13:30:28.739338+00
run-1	4	log	bye	2026-12-06 13:30:28.793244+00
run-1	5	result	{"run": "run-1", "state": "succeeded"}	2026-12-06 13:30:28.793244+00
run-2	1	log	line 0 of run 2 ✓	2026-12-06 13:30:28.936007+00
run-2	2	log	line 1 of run 2 ✓	2026-12-06 13:30:28.936007+00
run-2	3	log	line 2 of run 2 ✓	2026-12-06 13:30:28.936007+00
run-2	4	log	bye	2026-12-06 13:30:28.979301+00
run-2	5	result	{"run": "run-2", "state": "failed"}	2026-12-06 13:30:28.979301+00
run-3	1	log	line 0 of run 3 ✓	2026-12-06 13:30:29.087755+00
run-3	2	log	line 1 of run 3 ✓	2026-12-06 13:30:29.087755+00
run-3	3	log	line 2 of run 3 ✓	2026-12-06 13:30:29.087755+00
run-3	4	log	bye	2026-12-06 13:30:29.115318+00
run-3	5	result	{"run": "run-3", "state": "succeeded"}	2026-12-06 13:30:29.115318+00
run-4	1	log	line 0 of run 4 ✓	2026-12-06 13:30:29.238711+00
run-4	2	log	line 1 of run 4 ✓	2026-12-06 13:30:29.238711+00
run-4	3	log	line 2 of run 4 ✓	2026-12-06 13:30:29.238711+00
run-5	1	log	line 0 of run 5 ✓	2026-12-06 13:30:29.339257+00
run-5	2	log	line 1 of run 5 ✓	2026-12-06 13:30:29.339257+00
run-5	3	log	line 2 of run 5 ✓	2026-12-06 13:30:29.339257+00
\.


--
-- Data for Name: runs; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.runs (seq, run_id, function_id, function_version, account_id, key_id, state, active, variables, timeout_s, session_id, result_json, reason, local, origin, token_hash, job_id, last_event_seq, created_at, updated_at, started_at, ended_at, ordinal) FROM stdin;
1	run-1	fn-1	2	44964944-319a-4be5-bfc3-175e6d651732	ea3844a5-adcb-419b-a064-91c940427f16	succeeded	f	{"n": [1, 2], "name": "é"}	60	\N	{"answer": 1}	\N	f	start	\N	1	5	2026-12-01 09:30:11.123456+00	2026-12-06 13:30:28.779294+00	2026-12-01 09:30:21.123456+00	2026-12-06 13:30:28.779294+00	1
2	run-2	fn-1	2	44964944-319a-4be5-bfc3-175e6d651732	ea3844a5-adcb-419b-a064-91c940427f16	failed	f	{"n": [1, 2], "name": "é"}	60	\N	\N	it broke	f	start	\N	2	5	2026-12-01 09:30:12.123456+00	2026-12-06 13:30:28.971275+00	2026-12-01 09:30:22.123456+00	2026-12-06 13:30:28.971275+00	2
3	run-3	fn-1	2	44964944-319a-4be5-bfc3-175e6d651732	ea3844a5-adcb-419b-a064-91c940427f16	succeeded	f	{"n": [1, 2], "name": "é"}	60	\N	{"answer": 3}	\N	f	start	\N	3	5	2026-12-01 09:30:13.123456+00	2026-12-06 13:30:29.100032+00	2026-12-01 09:30:23.123456+00	2026-12-06 13:30:29.100032+00	3
5	run-5	fn-1	2	44964944-319a-4be5-bfc3-175e6d651732	ea3844a5-adcb-419b-a064-91c940427f16	running	t	{"n": [1, 2], "name": "é"}	60	\N	\N	\N	f	start	token-5	5	3	2026-12-01 09:30:15.123456+00	2026-12-06 13:30:29.312818+00	2026-12-01 09:30:25.123456+00	\N	5
6	run-created	fn-1	2	44964944-319a-4be5-bfc3-175e6d651732	ea3844a5-adcb-419b-a064-91c940427f16	created	t	{"n": [1, 2], "name": "é"}	\N	\N	\N	\N	t	create	\N	\N	0	2026-12-01 09:30:30.123456+00	2026-12-01 09:30:30.123456+00	\N	\N	6
4	run-4	fn-1	2	44964944-319a-4be5-bfc3-175e6d651732	ea3844a5-adcb-419b-a064-91c940427f16	running	t	{"n": [1, 2], "name": "é"}	60	sess-1	\N	\N	f	start	token-4	4	3	2026-12-01 09:30:14.123456+00	2026-12-06 13:30:29.39837+00	2026-12-01 09:30:24.123456+00	\N	4
\.


--
-- Data for Name: schedule_ticks; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schedule_ticks (schedule_id, tick, function_id, outcome, run_id, reason, claimed_by, created_at, updated_at) FROM stdin;
sched-1	2026-12-01 09:35:00.123456+00	fn-1	started	run-5	\N	server-a	2026-12-06 13:30:29.613066+00	2026-12-06 13:30:29.663869+00
sched-1	2026-12-01 09:40:00.123456+00	fn-1	skipped	\N	run run-5 of the tick at 2026-12-01T09:35:00.123456+00:00 is still active	server-a	2026-12-06 13:30:29.673554+00	2026-12-06 13:30:29.673554+00
\.


--
-- Data for Name: schedules; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schedules (schedule_id, function_id, account_id, key_id, cron, timezone, variables, allow_overlap, created_at, updated_at) FROM stdin;
sched-1	fn-1	44964944-319a-4be5-bfc3-175e6d651732	ea3844a5-adcb-419b-a064-91c940427f16	*/5 * * * *	Europe/Paris	{"name": "cron"}	f	2026-12-01 09:30:50.123456+00	2026-12-01 09:30:50.123456+00
\.


--
-- Data for Name: secrets; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.secrets (account_id, scope, name, ciphertext) FROM stdin;
44964944-319a-4be5-bfc3-175e6d651732		API_TOKEN	\\x00636970686572746578742d31
44964944-319a-4be5-bfc3-175e6d651732	fn-1	PASSWORD	\\x636970686572746578742d32ff
2a704051-705d-45f7-a1f9-34c75028024d		THEIRS	\\x636970686572746578742d33
\.


--
-- Data for Name: server_secrets; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.server_secrets (name, value) FROM stdin;
links	\\x5a89fcbc485e1e2660f20c091cfe9f369abc97e8306215b0b58732075e7dfac5
\.


--
-- Data for Name: session_hosts; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.session_hosts (owner_url, seen_at) FROM stdin;
http://127.0.0.1:9001	2026-12-06 13:30:29.588182+00
\.


--
-- Data for Name: sessions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.sessions (seq, session_id, account_id, run_id, owner_url, options, idle_timeout_min, max_duration_min, status, close_reason, closed_by, steps, created_at, last_accessed_at, closed_at) FROM stdin;
1	sess-1	44964944-319a-4be5-bfc3-175e6d651732	run-4	http://127.0.0.1:9001	{"headless": true, "viewport": {"width": 1280}}	5	30	active	\N	\N	0	2026-12-01 09:30:40.123456+00	2026-12-01 09:30:41.123456+00	\N
2	sess-2	44964944-319a-4be5-bfc3-175e6d651732	\N	http://127.0.0.1:9001	{}	3	20	closed	manual	a stop call	7	2026-12-01 09:30:42.123456+00	2026-12-01 09:30:44.123456+00	2026-12-01 09:30:44.123456+00
\.


--
-- Data for Name: webhook_deliveries; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.webhook_deliveries (seq, delivery_id, run_id, function_id, account_id, target, url, secret, payload, status, attempts, next_attempt_at, created_at, updated_at) FROM stdin;
1	del-hook-1	run-1	fn-1	44964944-319a-4be5-bfc3-175e6d651732	hook-1	https://example.com/hook	whsec-1	{"run": "run-1"}	pending	[{"at": "2026-12-01T09:31:11.123456+00:00", "error": "server error", "status_code": 500}]	2026-12-01 09:31:30.123456+00	2026-12-01 09:31:10.123456+00	2026-12-01 09:31:11.123456+00
2	del-callback	run-1	fn-1	44964944-319a-4be5-bfc3-175e6d651732	callback	https://example.com/callback	whsec-1	{"run": "run-1"}	delivered	[{"at": "2026-12-01T09:31:12.123456+00:00", "error": null, "status_code": 200}]	\N	2026-12-01 09:31:10.123456+00	2026-12-01 09:31:12.123456+00
\.


--
-- Data for Name: webhooks; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.webhooks (webhook_id, function_id, account_id, url, secret, created_at) FROM stdin;
hook-1	fn-1	44964944-319a-4be5-bfc3-175e6d651732	https://example.com/hook	whsec-1	2026-12-01 09:31:00.123456+00
\.


--
-- Name: functions_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.functions_seq_seq', 2, true);


--
-- Name: runs_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.runs_seq_seq', 6, true);


--
-- Name: sessions_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.sessions_seq_seq', 2, true);


--
-- Name: webhook_deliveries_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhook_deliveries_seq_seq', 2, true);


--
-- Name: account_webhook_secrets account_webhook_secrets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.account_webhook_secrets
    ADD CONSTRAINT account_webhook_secrets_pkey PRIMARY KEY (account_id);


--
-- Name: accounts accounts_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.accounts
    ADD CONSTRAINT accounts_name_key UNIQUE (name);


--
-- Name: accounts accounts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.accounts
    ADD CONSTRAINT accounts_pkey PRIMARY KEY (account_id);


--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (key_id);


--
-- Name: api_keys api_keys_secret_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash);


--
-- Name: function_versions function_versions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.function_versions
    ADD CONSTRAINT function_versions_pkey PRIMARY KEY (function_id, version);


--
-- Name: functions functions_function_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.functions
    ADD CONSTRAINT functions_function_id_key UNIQUE (function_id);


--
-- Name: functions functions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.functions
    ADD CONSTRAINT functions_pkey PRIMARY KEY (seq);


--
-- Name: run_callbacks run_callbacks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.run_callbacks
    ADD CONSTRAINT run_callbacks_pkey PRIMARY KEY (run_id);


--
-- Name: run_counters run_counters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.run_counters
    ADD CONSTRAINT run_counters_pkey PRIMARY KEY (function_id, account_id);


--
-- Name: run_events run_events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.run_events
    ADD CONSTRAINT run_events_pkey PRIMARY KEY (run_id, seq);


--
-- Name: runs runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (seq);


--
-- Name: runs runs_run_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs
    ADD CONSTRAINT runs_run_id_key UNIQUE (run_id);


--
-- Name: schedule_ticks schedule_ticks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedule_ticks
    ADD CONSTRAINT schedule_ticks_pkey PRIMARY KEY (schedule_id, tick);


--
-- Name: schedules schedules_function_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_function_id_key UNIQUE (function_id);


--
-- Name: schedules schedules_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schedules
    ADD CONSTRAINT schedules_pkey PRIMARY KEY (schedule_id);


--
-- Name: secrets secrets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.secrets
    ADD CONSTRAINT secrets_pkey PRIMARY KEY (account_id, scope, name);


--
-- Name: server_secrets server_secrets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.server_secrets
    ADD CONSTRAINT server_secrets_pkey PRIMARY KEY (name);


--
-- Name: session_hosts session_hosts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.session_hosts
    ADD CONSTRAINT session_hosts_pkey PRIMARY KEY (owner_url);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (seq);


--
-- Name: sessions sessions_session_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_session_id_key UNIQUE (session_id);


--
-- Name: webhook_deliveries webhook_deliveries_delivery_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_delivery_id_key UNIQUE (delivery_id);


--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (seq);


--
-- Name: webhook_deliveries webhook_deliveries_run_id_target_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_run_id_target_key UNIQUE (run_id, target);


--
-- Name: webhooks webhooks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhooks
    ADD CONSTRAINT webhooks_pkey PRIMARY KEY (webhook_id);


--
-- Name: functions_by_account; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX functions_by_account ON public.functions USING btree (account_id, seq) WHERE (deleted_at IS NULL);


--
-- Name: runs_active_by_account; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runs_active_by_account ON public.runs USING btree (account_id, state) WHERE active;


--
-- Name: runs_active_by_function; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runs_active_by_function ON public.runs USING btree (function_id, seq) WHERE active;


--
-- Name: runs_by_function; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runs_by_function ON public.runs USING btree (function_id, seq);


--
-- Name: runs_by_job; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runs_by_job ON public.runs USING btree (job_id) WHERE (job_id IS NOT NULL);


--
-- Name: runs_by_ordinal; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX runs_by_ordinal ON public.runs USING btree (function_id, account_id, ordinal);


--
-- Name: runs_by_token; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX runs_by_token ON public.runs USING btree (token_hash) WHERE (token_hash IS NOT NULL);


--
-- Name: runs_queued_by_account; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX runs_queued_by_account ON public.runs USING btree (account_id, seq) WHERE (state = 'queued'::text);


--
-- Name: schedule_ticks_by_function; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX schedule_ticks_by_function ON public.schedule_ticks USING btree (function_id, tick);


--
-- Name: sessions_active_by_owner; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_active_by_owner ON public.sessions USING btree (owner_url) WHERE (status = 'active'::text);


--
-- Name: sessions_by_account; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_by_account ON public.sessions USING btree (account_id, seq);


--
-- Name: sessions_by_run; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_by_run ON public.sessions USING btree (run_id) WHERE (run_id IS NOT NULL);


--
-- Name: webhook_deliveries_by_function; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_by_function ON public.webhook_deliveries USING btree (function_id, seq);


--
-- Name: webhook_deliveries_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_due ON public.webhook_deliveries USING btree (next_attempt_at) WHERE (status = 'pending'::text);


--
-- Name: webhooks_by_function; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhooks_by_function ON public.webhooks USING btree (function_id);


--
-- Name: api_keys api_keys_account_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_account_id_fkey FOREIGN KEY (account_id) REFERENCES public.accounts(account_id);


--
-- PostgreSQL database dump complete
--

\unrestrict 8csdQkg5cKaGv2STaGDLuUXOAXafxY3CtXxSGahqGHi3nhe579561X3VPmaB3DF

