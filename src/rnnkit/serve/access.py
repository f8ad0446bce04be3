"""Who may talk to the server: a Host allow-list (Starlette's ``TrustedHostMiddleware``) and an optional API key.

    bound to loopback (127.0.0.1, ::1, localhost)  -> Host must be a loopback name unless --allowed-hosts says
                                                      otherwise: a web page on another site cannot reach this
                                                      server through DNS rebinding (its Host is that site's name)
    bound to anything else                         -> refused at start without --allowed-hosts or --api-key
                                                      (or the explicit --insecure)

The key (``--api-key`` or the environment variable ``RNNKIT_API_KEY``) guards every ``/api/`` endpoint: a
request carries ``Authorization: Bearer KEY``, or the ``rnnkit_key`` cookie a browser gets by opening
``/?key=KEY`` once (HttpOnly, SameSite=Strict: the page's own requests send it, other sites' do not).
``/``, ``/static``, ``/docs``, ``/redoc``, ``/openapi.json`` and ``/healthz`` stay open: they hold no data.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.trustedhost import TrustedHostMiddleware

from rnnkit.serve.errors import ApiError

KEY_ENV = "RNNKIT_API_KEY"
KEY_COOKIE = "rnnkit_key"
MIN_KEY_CHARS = 16
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
bearer = HTTPBearer(auto_error=False, description=f"the server's API key (--api-key or {KEY_ENV})")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a --host value) reaches this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """The allowed Host names (``("*",)``: any) and the API key (None: no key)."""

    allowed_hosts: tuple[str, ...]
    api_key: str | None = None

    @classmethod
    def decide(cls, host: str, allowed_hosts: Sequence[str] | None, api_key: str | None,
               insecure: bool = False) -> Access:
        """The access a server bound to ``host`` gets; a ``ValueError`` for a server open to the network
        that neither names its hosts nor holds a key (unless ``insecure``), or for a short key."""
        if api_key is not None and len(api_key) < MIN_KEY_CHARS:
            raise ValueError(f"the API key has {len(api_key)} characters; use at least {MIN_KEY_CHARS} (e.g. "
                             "python -c 'import secrets; print(secrets.token_urlsafe())')")
        names = tuple(name.strip().lower() for name in allowed_hosts or () if name.strip())
        if allowed_hosts is not None and not names:
            raise ValueError("--allowed-hosts is empty: give host names separated by commas (or '*' for any)")
        if not names:
            if is_loopback(host):
                names = LOOPBACK_NAMES
            elif api_key is None and not insecure:
                raise ValueError(f"--host {host} opens the server to the network: name the hosts clients use "
                                 f"(--allowed-hosts NAME,…), require a key (--api-key or {KEY_ENV}), or both; "
                                 "--insecure serves anyone")
            else:
                names = ("*",)
        return cls(allowed_hosts=names, api_key=api_key)


class AllowedHosts:
    """ASGI middleware: Starlette's ``TrustedHostMiddleware`` over ``hosts``, its refusal as a JSON 400."""

    def __init__(self, app: Callable, hosts: Sequence[str]) -> None:
        self.app = app
        self.hosts = list(hosts)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or "*" in self.hosts:
            await self.app(scope, receive, send)
            return
        admitted = False

        async def admit(scope: dict, receive: Callable, send: Callable) -> None:
            nonlocal admitted
            admitted = True
            await self.app(scope, receive, send)

        async def answer(message: dict) -> None:
            if admitted:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(send)

        await TrustedHostMiddleware(admit, allowed_hosts=self.hosts, www_redirect=False)(scope, receive, answer)

    async def _refuse(self, send: Callable) -> None:
        message = (f"this server answers to the host names {', '.join(self.hosts)} only: open it by one of them, "
                   "or start it with --allowed-hosts")
        payload = json.dumps({"error": message}).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


def key_check(api_key: str | None) -> Callable:
    """A FastAPI dependency: with a key, a request must carry it (bearer token or cookie), else 401."""

    async def require_key(request: Request,
                          credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        if api_key is None:
            return
        given = credentials.credentials if credentials is not None else request.cookies.get(KEY_COOKIE, "")
        if not _same(given, api_key):
            raise ApiError(401, "this server needs its API key: send 'Authorization: Bearer KEY' (a browser: open "
                                "/?key=KEY once)", headers={"WWW-Authenticate": "Bearer"})

    return require_key


def key_cookie(given: str, api_key: str | None) -> RedirectResponse:
    """``/?key=KEY``: back to ``/`` with the key in an HttpOnly, SameSite=Strict cookie (the page's requests
    then carry it); a wrong key, or a server without one, is refused."""
    if api_key is None:
        raise ApiError(400, "this server has no API key: open / without ?key=")
    if not _same(given, api_key):
        raise ApiError(401, "that is not this server's API key")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(KEY_COOKIE, api_key, httponly=True, samesite="strict")
    return response


def _same(given: str, api_key: str) -> bool:
    """Compared in constant time (the time taken tells nothing of how much of a guess was right)."""
    return hmac.compare_digest(given.encode(), api_key.encode())
