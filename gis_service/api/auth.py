"""Who is calling: an API key (``Authorization: Bearer <key>`` or ``X-API-Key: <key>``) checked
against the stored hashes, and the role a route needs. No key on a route that needs one is 401,
a key with too small a role is 403; reads are open when ``public_read`` is on."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, Request
from sqlalchemy import Engine

from gis_service.db.users import User, authenticate

ANONYMOUS = User("anonymous", "viewer")


def caller(request: Request, engine: Engine) -> User | None:
    """The user whose key the request carries; 401 for a key that matches nobody."""
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("x-api-key")
    if not key:
        return None
    with engine.connect() as conn:
        user = authenticate(conn, key)
    if user is None:
        raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    return user


def requires(role: str, engine: Engine, *, public: bool = False) -> Callable[[Request], User]:
    """A FastAPI dependency: the caller, who must hold ``role`` (or nobody, on a public read)."""
    def dependency(request: Request) -> User:
        user = caller(request, engine)
        if user is None:
            if public:
                return ANONYMOUS
            raise HTTPException(401, f"this needs an API key with the role {role} (gis-service users add)",
                                headers={"WWW-Authenticate": "Bearer"})
        if not user.may(role):
            raise HTTPException(403, f"user {user.name} is {user.role}; this needs {role}")
        return user
    return dependency
