"""Vaults and personas in the scale-out mode: credentials set on one API server are read (and
masked in a run's logs) on another process with the deployment's shared key, sealed in
PostgreSQL; mail received by the one process running the SMTP listener is read through another."""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage
from pathlib import Path

import httpx
import psycopg
from cryptography.fernet import Fernet

from tests.conftest import deploy
from tests.live_server import free_port
from tests.scaleout.cluster import Cluster

PASSWORD = "pg-vault-Password-5521"
READER = """
import os
import requests

def run(vault_id: str):
    url = os.environ["NOTTE_API_URL"] + f"/vaults/{vault_id}/credentials"
    headers = {"Authorization": "Bearer " + os.environ["NOTTE_API_KEY"]}
    creds = requests.get(url, params={"url": "https://pg.example.com"}, headers=headers, timeout=30).json()
    print("password", creds["credentials"]["password"])
    return len(creds["credentials"]["password"])
"""


def test_vaults_and_mail_across_processes(pg_dsn: str, tmp_path: Path) -> None:
    mail_port = free_port()
    cluster = Cluster(
        pg_dsn,
        tmp_path,
        secrets_key=Fernet.generate_key().decode(),
        mail_domain="pg.test",
        mail_host="127.0.0.1",
        mail_port=mail_port,
    )
    try:
        receiving = cluster.api(worker=True)  # runs, and the SMTP listener
        cluster.env["BROWSERFN_MAIL_PORT"] = "0"
        other = cluster.api()
        with httpx.Client(base_url=other.url, headers=cluster.headers(), timeout=60) as api:
            vault_id = api.post("/vaults/create", json={"name": "pg"}).json()["vault_id"]
            creds = {"url": "https://pg.example.com", "credentials": {"username": "pg", "password": PASSWORD}}
            assert api.post(f"/vaults/{vault_id}/credentials", json=creds).status_code == 200
            persona = api.post("/personas/create", json={"name": "Pg User"}).json()
        with httpx.Client(base_url=receiving.url, headers=cluster.headers(), timeout=60) as api:
            got = api.get(f"/vaults/{vault_id}/credentials", params={"url": "pg.example.com"}).json()
            assert got == {"credentials": {"username": "pg", "password": PASSWORD}}
            function_id = deploy(api, READER, "pg_reader", restricted=False)["function_id"]
            body = {"workflow_id": function_id, "variables": {"vault_id": vault_id}, "stream": False}
            answer = api.post(f"/functions/{function_id}/runs/start", json=body).json()
            run = api.get(f"/functions/{function_id}/runs/{answer['function_run_id']}").json()
        assert (answer["status"], json.loads(run["result"])) == ("closed", len(PASSWORD))
        assert [line.split(" | ", 3)[3] for line in run["logs"]] == ["password ***"]

        message = EmailMessage()
        message["From"] = "noreply@shop.example"
        message["To"] = persona["email"]
        message["Subject"] = "code 918273"
        message.set_content("hello")
        with smtplib.SMTP("127.0.0.1", mail_port, timeout=30) as smtp:
            smtp.send_message(message)
        with httpx.Client(base_url=other.url, headers=cluster.headers(), timeout=60) as api:
            emails = api.get(f"/personas/{persona['persona_id']}/emails").json()
        assert [(e["subject"], e["sender_email"]) for e in emails] == [("code 918273", "noreply@shop.example")]

        with psycopg.connect(pg_dsn) as conn:
            stored = repr(conn.execute("SELECT * FROM vault_credentials").fetchall())
        assert "'example.com'" in stored and PASSWORD not in stored  # the site: its registrable domain
    finally:
        cluster.close()
