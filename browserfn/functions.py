"""Functions: who may see or change which, their versions, and their code-download links."""

from __future__ import annotations

import dataclasses
import time
import urllib.parse
from typing import Any

from browserfn import restricted as restricted_mode
from browserfn import scripts, tokens
from browserfn.config import Settings
from browserfn.errors import Conflict, Forbidden, InvalidInput, NotFound
from browserfn.models import Function, FunctionVersion, Principal, utcnow
from browserfn.store.base import Store
from browserfn.store.ops import functions as function_ops

#: Life of a code link (`url` of GET /functions/{id}), as a replay link's.
CODE_LINK_TTL_S = 3600


def check_run_timeout(settings: Settings, timeout_s: float) -> float:
    """A run time limit a caller asked for (on a function or a start), if within bounds."""
    if not 0 < timeout_s <= settings.max_run_timeout_s:
        raise InvalidInput(f"timeout must be between 0 and {settings.max_run_timeout_s:g} seconds")
    return timeout_s


@dataclasses.dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


def _visible(principal: Principal, function_id: str, function: Function | None) -> Function:
    """The caller's own function, or a shared one; anything else does not exist for them."""
    if function is None or (function.account_id != principal.account_id and not function.shared):
        raise NotFound(f"function {function_id} not found")
    return function


def existing_version(function: Function, version: str | None, found: FunctionVersion | None) -> FunctionVersion:
    """The version asked for (the latest when `version` is None), as read: NotFound if it was not."""
    if found is None:
        wanted = version or function.latest_version
        raise NotFound(
            f"function {function.function_id} has no version {wanted!r} (versions: {list(function.versions)})"
        )
    return found


class FunctionService:
    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store

    def _version(self, function_id: str, version: str, upload: Upload, restricted: bool) -> FunctionVersion:
        code = scripts.decode_script(upload.content, self._settings.max_script_bytes)
        parameters = scripts.parse_parameters(code, upload.filename)
        if restricted:
            restricted_mode.validate(code, upload.filename)
        return FunctionVersion(function_id, version, code, parameters, restricted, utcnow())

    def check_timeout(self, timeout_s: float | None) -> float | None:
        return None if timeout_s is None else check_run_timeout(self._settings, timeout_s)

    async def create(
        self,
        principal: Principal,
        upload: Upload,
        *,
        name: str | None,
        description: str | None,
        shared: bool,
        restricted: bool,
        timeout_s: float | None = None,
        reference_function_id: str | None = None,
    ) -> Function:
        function_id = tokens.new_id()
        version = self._version(function_id, "1", upload, restricted)
        now = utcnow()
        function = Function(
            function_id=function_id,
            account_id=principal.account_id,
            name=name if name is not None else upload.filename.removesuffix(".py"),
            description=description,
            shared=shared,
            latest_version=version.version,
            versions=(version.version,),
            parameters=version.parameters,
            created_at=now,
            updated_at=now,
            reference_function_id=reference_function_id,
            timeout_s=self.check_timeout(timeout_s),
        )
        return await self._store.create_function(function, version)

    async def get_visible(self, principal: Principal, function_id: str) -> Function:
        """The caller's own function, or a shared one; anything else does not exist for them."""
        return _visible(principal, function_id, await self._store.get_function(function_id))

    async def visible_with_version(
        self, principal: Principal, function_id: str, version: str | None
    ) -> tuple[Function, FunctionVersion | None]:
        """`get_visible` and the version `version_of` would find (None: not found), read together."""
        found = await self._store.read(function_ops.with_version, function_id, version)
        function = _visible(principal, function_id, found[0] if found is not None else None)
        return function, found[1] if found is not None else None

    async def get_owned(self, principal: Principal, function_id: str) -> Function:
        function = await self.get_visible(principal, function_id)
        if function.account_id != principal.account_id:
            raise Forbidden(f"function {function_id} is shared with you: you may run or fork it, not change it")
        return function

    async def version_of(self, function: Function, version: str | None) -> FunctionVersion:
        found = await self._store.get_function_version(function.function_id, version or function.latest_version)
        return existing_version(function, version, found)

    async def list_functions(self, principal: Principal, page: int, page_size: int) -> tuple[list[Function], bool]:
        found = await self._store.list_functions(principal.account_id, (page - 1) * page_size, page_size + 1)
        return found[:page_size], len(found) > page_size

    async def update_code(
        self, principal: Principal, function_id: str, upload: Upload, *, version: str | None, restricted: bool
    ) -> Function:
        """A new version that becomes the latest; with `version`, overwrite that version instead."""
        function = await self.get_owned(principal, function_id)
        if version is not None and version not in function.versions:
            raise NotFound(f"function {function_id} has no version {version!r} (versions: {list(function.versions)})")
        name = version if version is not None else str(len(function.versions) + 1)
        new = self._version(function_id, name, upload, restricted)
        return await self._store.put_function_version(new, make_latest=version is None)

    async def update_metadata(self, principal: Principal, function_id: str, fields: dict[str, Any]) -> Function:
        await self.get_owned(principal, function_id)
        if "timeout_s" in fields:
            self.check_timeout(fields["timeout_s"])
        return await self._store.update_function(function_id, fields)

    async def delete(self, principal: Principal, function_id: str) -> None:
        await self.get_owned(principal, function_id)
        if not await self._store.delete_function(function_id):
            raise Conflict(f"function {function_id} has active runs: stop them before deleting it")

    async def fork(self, principal: Principal, function_id: str) -> Function:
        source = await self.get_visible(principal, function_id)
        latest = await self.version_of(source, None)
        return await self.create(
            principal,
            Upload("function.py", latest.code.encode()),
            name=source.name,
            description=source.description,
            shared=False,
            restricted=latest.restricted,
            timeout_s=source.timeout_s,
            reference_function_id=source.function_id,
        )

    async def code_url(self, principal: Principal, function: Function, version: str, base_url: str) -> str:
        """A link that downloads this version's code with no credentials (a capability URL), for
        CODE_LINK_TTL_S. Given to another account (a shared function), it works only while the
        function stays shared; the owner's works while the function exists."""
        access = "owner" if function.account_id == principal.account_id else "shared"
        expires = str(int(time.time()) + CODE_LINK_TTL_S)
        secret = await self._store.server_secret()
        signature = tokens.sign(secret, "code", function.function_id, version, access, expires)
        query = urllib.parse.urlencode({"access": access, "expires": expires, "signature": signature})
        return f"{base_url.rstrip('/')}/functions/{function.function_id}/code/{version}?{query}"

    async def code_by_link(self, function_id: str, version: str, access: str, expires: int, signature: str) -> str:
        """The code behind a link made by `code_url`: signed, unexpired, and still visible to whom it was given."""
        secret = await self._store.server_secret()
        signed = tokens.verify(secret, signature, "code", function_id, version, access, str(expires))
        valid = signed and time.time() < expires
        function = await self._store.get_function(function_id) if valid else None
        found = await self._store.get_function_version(function_id, version) if function is not None else None
        if found is None or function is None or (access != "owner" and not function.shared):
            raise NotFound("no such code link (it is wrong or expired, or the function is no longer shared)")
        return found.code
