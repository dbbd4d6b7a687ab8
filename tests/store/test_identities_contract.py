"""Vaults and personas in the store, on SQLite and PostgreSQL: per-account visibility, upserts,
cascading deletes, the credential limit, and the mailbox's newest-N keeping and read marks."""

from __future__ import annotations

import datetime as dt

import pytest

from browserfn.errors import InvalidInput, NotFound
from browserfn.models import utcnow
from browserfn.store.base import Store
from browserfn.store.ops import personas, vaults
from browserfn.store.ops.personas import EmailRecord, PersonaRecord
from browserfn.store.ops.vaults import CardRecord, CredentialRecord, VaultRecord


def _vault(vault_id: str, account: str = "a1", for_persona: bool = False) -> VaultRecord:
    return VaultRecord(vault_id, account, f"name of {vault_id}", for_persona, utcnow())


def _credential(vault_id: str, url: str, sealed: bytes = b"\x00sealed\xff") -> CredentialRecord:
    return CredentialRecord(vault_id, url, f"me@{url}", None, sealed, utcnow())


def _persona(persona_id: str, account: str = "a1", vault_id: str | None = None) -> PersonaRecord:
    return PersonaRecord(
        persona_id, account, None, "Ada", "L", f"{persona_id}.x@d.test", f"{persona_id}@d.test", vault_id, utcnow()
    )


def _email(n: int, persona_id: str = "p1", account: str = "a1", subject: str = "") -> EmailRecord:
    return EmailRecord(
        f"e{n}", persona_id, account, utcnow(), "s@shop.test", None, subject or f"m{n}", "text\x00nul", "<p>", False
    )


async def test_vaults_are_per_account(store: Store) -> None:
    await store.call(vaults.create, _vault("v1"))
    await store.call(vaults.create, _vault("v2"))
    assert await store.call(vaults.get, "a2", "v1") is None
    assert [v.vault_id for v in await store.call(vaults.listing, "a1", 0, 10)] == ["v2", "v1"]
    assert await store.call(vaults.listing, "a2", 0, 10) == []
    for op, args in [
        (vaults.rename, ("v1", "x")),
        (vaults.delete, ("v1",)),
        (vaults.credentials, ("v1",)),
        (vaults.get_credential, ("v1", "a.com")),
        (vaults.put_card, (CardRecord("v1", b"c", utcnow()),)),
    ]:
        with pytest.raises(NotFound):
            await store.call(op, "a2", *args)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        await store.call(vaults.put_credential, "a2", _credential("v1", "a.com"), 10)
    renamed = await store.call(vaults.rename, "a1", "v1", "work")
    assert (renamed.name, renamed.for_persona) == ("work", False)


async def test_credentials_upsert_list_delete_and_limit(store: Store) -> None:
    await store.call(vaults.create, _vault("v1"))
    await store.call(vaults.put_credential, "a1", _credential("v1", "b.com"), 2)
    await store.call(vaults.put_credential, "a1", _credential("v1", "a.com"), 2)
    await store.call(vaults.put_credential, "a1", _credential("v1", "a.com", b"newer"), 2)  # same site: replaces
    with pytest.raises(InvalidInput, match="at most 2"):
        await store.call(vaults.put_credential, "a1", _credential("v1", "c.com"), 2)
    listed = await store.call(vaults.credentials, "a1", "v1")
    assert [(c.url, c.email, c.sealed) for c in listed] == [
        ("a.com", "me@a.com", b"newer"),
        ("b.com", "me@b.com", b"\x00sealed\xff"),
    ]
    assert await store.call(vaults.delete_credential, "a1", "v1", "a.com") is True
    assert await store.call(vaults.delete_credential, "a1", "v1", "a.com") is False
    assert await store.call(vaults.get_credential, "a1", "v1", "a.com") is None


async def test_cards_and_cascading_delete(store: Store) -> None:
    await store.call(vaults.create, _vault("v1"))
    await store.call(vaults.create, _vault("other", account="a2"))
    await store.call(vaults.put_credential, "a2", _credential("other", "z.com", b"theirs"), 10)
    await store.call(vaults.put_card, "a1", CardRecord("v1", b"card-1", utcnow()))
    await store.call(vaults.put_card, "a1", CardRecord("v1", b"card-2", utcnow()))
    await store.call(vaults.put_credential, "a1", _credential("v1", "a.com", b"mine"), 10)
    card = await store.call(vaults.get_card, "a1", "v1")
    assert card is not None and card.sealed == b"card-2"
    assert sorted(await store.call(vaults.sealed_secrets, "a1")) == [b"card-2", b"mine"]
    await store.call(vaults.delete, "a1", "v1")
    assert await store.call(vaults.get, "a1", "v1") is None
    assert await store.call(vaults.sealed_secrets, "a1") == []
    assert await store.call(vaults.sealed_secrets, "a2") == [b"theirs"]
    await store.call(vaults.create, _vault("v1"))  # the id is free again, and empty
    assert await store.call(vaults.get_card, "a1", "v1") is None


async def test_personas_by_account_address_and_vault(store: Store) -> None:
    await store.call(personas.create, _persona("p1", vault_id="pv"), _vault("pv", for_persona=True))
    await store.call(personas.create, _persona("p2", account="a2"), None)
    assert [p.persona_id for p in await store.call(personas.listing, "a1", 0, 10)] == ["p1"]
    assert await store.call(personas.get, "a2", "p1") is None
    found = await store.call(personas.by_address, "P1.X@d.test")
    assert found is not None and (found.persona_id, found.account_id) == ("p1", "a1")
    assert (await store.call(personas.by_address, "p2@d.test")).persona_id == "p2"  # type: ignore[union-attr]
    assert await store.call(personas.by_address, "nobody@d.test") is None
    assert (await store.call(personas.by_vault, "a1", "pv")).persona_id == "p1"  # type: ignore[union-attr]
    assert await store.call(personas.by_vault, "a2", "pv") is None
    assert (await store.call(vaults.get, "a1", "pv")).for_persona is True  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await store.call(personas.rename, "a2", "p1", "x")
    assert (await store.call(personas.rename, "a1", "p1", "Grace")).name == "Grace"
    with pytest.raises(NotFound):
        await store.call(personas.delete, "a2", "p1")
    await store.call(personas.delete, "a1", "p1")
    assert await store.call(personas.by_address, "p1@d.test") is None
    assert await store.call(vaults.get, "a1", "pv") is None  # its vault went with it


async def test_mailbox_keeps_the_newest_and_marks_read(store: Store) -> None:
    await store.call(personas.create, _persona("p1"), None)
    for n in range(5):
        assert await store.call(personas.add_email, _email(n), 3) is True
    assert await store.call(personas.add_email, _email(9, persona_id="gone"), 3) is False
    with pytest.raises(NotFound):
        await store.call(personas.read_emails, "a2", "p1", None, False, 10)
    unread = await store.call(personas.read_emails, "a1", "p1", None, True, 2)
    assert [e.subject for e in unread] == ["m4", "m3"]
    assert unread[0].text_content == "text\x00nul"  # free text round-trips, NUL included
    assert [e.subject for e in await store.call(personas.read_emails, "a1", "p1", None, True, 10)] == ["m2"]
    assert await store.call(personas.read_emails, "a1", "p1", None, True, 10) == []
    everything = await store.call(personas.read_emails, "a1", "p1", None, False, 10)
    assert [(e.subject, e.seen) for e in everything] == [("m4", True), ("m3", True), ("m2", True)]
    future = utcnow() + dt.timedelta(minutes=1)
    assert await store.call(personas.read_emails, "a1", "p1", future, False, 10) == []
    await store.call(personas.delete, "a1", "p1")
    await store.call(personas.create, _persona("p1"), None)
    assert await store.call(personas.read_emails, "a1", "p1", None, False, 10) == []  # its mail went with it
