"""Webhooks and callback_url cannot make the server reach this machine or its private networks:
refused at registration, after resolving names (the server's own default, no hosts allowed)."""

from __future__ import annotations

import ipaddress
import socket

import httpx
import pytest

from browserfn.errors import InvalidInput
from browserfn.netpolicy import AddressPolicy, kind_of, own_addresses
from tests.conftest import deploy

REFUSED_URLS = [
    "http://127.0.0.1:5432/",
    "http://localhost:8000/hook",  # a name that resolves to loopback
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
    "http://0.0.0.0:22/",
    "http://10.1.2.3/",
    "http://192.168.0.1/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
    "http://100.64.0.1/",  # shared address space
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://2130706433/",  # 127.0.0.1 as one integer, which resolvers accept
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_private_and_loopback_receivers_are_refused_at_registration(api: httpx.Client, url: str) -> None:
    fid = deploy(api, "def run():\n    return 1\n", name="ssrf")["function_id"]
    hook = api.post(f"/functions/{fid}/webhooks", json={"url": url})
    assert hook.status_code == 422, hook.text
    assert "public addresses" in hook.json()["message"] or "resolved" in hook.json()["message"]
    run = api.post(
        f"/functions/{fid}/runs/start", json={"workflow_id": fid, "variables": {}, "stream": False, "callback_url": url}
    )
    assert run.status_code == 422, run.text
    assert api.get(f"/functions/{fid}/webhooks").json()["items"] == []
    assert api.get(f"/functions/{fid}/runs").json()["items"] == []  # refused before a run was made


def test_the_servers_own_addresses_are_refused(api: httpx.Client) -> None:
    fid = deploy(api, "def run():\n    return 1\n", name="own")["function_id"]
    mine = sorted(own_addresses(), key=str)
    assert mine
    for address in mine:
        host = f"[{address}]" if address.version == 6 else str(address)
        answer = api.post(f"/functions/{fid}/webhooks", json={"url": f"http://{host}:8000/"})
        assert answer.status_code == 422, (address, answer.text)
    hostname = api.post(f"/functions/{fid}/webhooks", json={"url": f"http://{socket.gethostname()}:8000/"})
    assert hostname.status_code == 422, hostname.text


def test_a_public_receiver_is_accepted(api: httpx.Client) -> None:
    fid = deploy(api, "def run():\n    return 1\n", name="public")["function_id"]
    hook = api.post(f"/functions/{fid}/webhooks", json={"url": "https://93.184.215.14:8443/hook"})
    assert hook.status_code == 200, hook.text
    assert api.delete(f"/functions/{fid}/webhooks/{hook.json()['webhook_id']}").status_code == 200


def test_address_kinds() -> None:
    public = ["93.184.215.14", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"]
    assert [kind_of(ipaddress.ip_address(a)) for a in public] == [None, None, None]
    assert kind_of(ipaddress.ip_address("64:ff9b::7f00:1")) == "loopback"  # NAT64 of 127.0.0.1
    assert kind_of(ipaddress.ip_address("2002:7f00:1::")) == "loopback"  # 6to4 of 127.0.0.1
    assert kind_of(ipaddress.ip_address("224.0.0.1")) == "multicast"
    assert ipaddress.ip_address("127.0.0.1") in own_addresses()


async def test_allowed_hosts_by_name_address_and_network() -> None:
    policy = AddressPolicy(["localhost", "10.0.0.0/8", "192.168.1.5"])
    assert "127.0.0.1" in (await policy.check_url("http://localhost:1234/")).addresses
    assert (await policy.check_url("http://10.9.8.7/")).addresses == ("10.9.8.7",)
    assert (await policy.check_url("http://192.168.1.5/")).addresses == ("192.168.1.5",)
    for refused in ("http://127.0.0.1/", "http://192.168.1.6/", "ftp://10.0.0.1/", "http:///x"):
        with pytest.raises(InvalidInput, match=r"public addresses|http"):
            await policy.check_url(refused)
