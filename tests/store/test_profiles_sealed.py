"""A profile's browser state (site logins) is sealed at rest with the server's secrets key, on
every backend: the store holds no cookie in clear, a state saved before sealing is still read
(and sealed at its next save), and a server with another key says so instead of failing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from browserfn.config import Settings
from browserfn.errors import Conflict
from browserfn.models import Principal, utcnow
from browserfn.profiles import Profiles
from browserfn.secrets import Sealer
from browserfn.store.base import Store
from browserfn.store.ops import profiles as ops

ACME = Principal(account_id="acme", key_id="k1")
COOKIE = {"name": "login", "value": "s3ssion-of-ada", "domain": "shop.test", "path": "/"}
STATE = {"cookies": [COOKIE], "local_storage": {"https://shop.test": {"user": "ada-lovelace"}}}


def sealing(store: Store, tmp_path: Path, key: bytes) -> Profiles:
    return Profiles(store, Sealer(Settings(data_dir=tmp_path, secrets_key=key.decode())))


async def test_the_store_holds_the_state_sealed(store: Store, tmp_path: Path) -> None:
    profiles = sealing(store, tmp_path, Fernet.generate_key())
    made = await profiles.create(ACME, "shop", STATE)
    assert made.state == STATE
    kept = await store.call(ops.get, "acme", made.profile_id)
    assert kept is not None and list(kept.state) == ["sealed"]
    assert "s3ssion-of-ada" not in json.dumps(kept.state) and "ada-lovelace" not in json.dumps(kept.state)
    assert (await profiles.get(ACME, made.profile_id)).state == STATE
    changed = {**STATE, "cookies": [{**COOKIE, "value": "another-s3ssion"}]}
    assert (await profiles.save(ACME, made.profile_id, changed)).state == changed
    kept = await store.call(ops.get, "acme", made.profile_id)
    assert kept is not None and "another-s3ssion" not in json.dumps(kept.state)


async def test_a_state_saved_before_sealing_is_read_then_sealed(store: Store, tmp_path: Path) -> None:
    profiles = sealing(store, tmp_path, Fernet.generate_key())
    await store.call(ops.create, "acme", "notte-profile-00000000000000aa", "old", STATE, utcnow())
    assert (await profiles.get(ACME, "notte-profile-00000000000000aa")).state == STATE
    await profiles.save(ACME, "notte-profile-00000000000000aa", STATE)
    kept = await store.call(ops.get, "acme", "notte-profile-00000000000000aa")
    assert kept is not None and list(kept.state) == ["sealed"]


async def test_a_server_with_another_key_says_so(store: Store, tmp_path: Path) -> None:
    made = await sealing(store, tmp_path, Fernet.generate_key()).create(ACME, "shop", STATE)
    with pytest.raises(Conflict, match="sealed with another secrets key than this server's"):
        await sealing(store, tmp_path, Fernet.generate_key()).get(ACME, made.profile_id)
