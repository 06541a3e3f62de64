"""The guard in front of the whole application (planning API, web map and pygeoapi at /ogc alike):

- **Body limit.** Every request body is read here, chunked bodies included, and counted by the
  bytes actually received; over ``max_body_kb`` the answer is 413 before any route sees it.
- **Who may write or start work.** Under /ogc every request that is not a read needs an editor's
  API key: starting a process (``POST /ogc/processes/{id}/execution``) and dismissing a job
  (``DELETE /ogc/jobs/{id}``), which only the job's owner or an admin may do. No key: 401; too
  small a role, or somebody else's job: 403. The planning API checks its own routes
  (``auth.requires``).
- **Callbacks.** An execute request's ``subscriber`` URLs are refused (400) unless their host is on
  ``callback_hosts``: the server would otherwise POST wherever a client asks (SSRF).
- **Closed reads.** With ``public_read`` off, every route that returns data needs a viewer key;
  only the health checks, the web map's own files (which then ask for the key) and the layer styles
  (QML, SLD, the MapLibre style: presentation, no data) stay open.
- **Deep pages.** An ``offset`` over ``max_offset`` under /ogc is refused (400).
- **Content-Security-Policy** on every HTML response, and ``X-Content-Type-Options: nosniff``.

It is plain ASGI so that it sees the mounted pygeoapi application too, which FastAPI's
dependencies do not reach."""

from __future__ import annotations

import hashlib
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from gis_service import job_queue
from gis_service.db.users import User, authenticate
from gis_service.settings import Settings

READS = {"GET", "HEAD", "OPTIONS"}
OPEN_PATHS = {"/", "/health", "/ready", "/map", "/openapi.json", "/docs", "/docs/oauth2-redirect"}  # no data
OPEN_PREFIXES = ("/map/app/", "/map/vendor/", "/styles/")  # the map's page, code and styles (no data)
EXECUTION = re.compile(r"^/ogc/processes/[^/]+/execution/?$")
JOB = re.compile(r"^/ogc/jobs/([^/]+)/?$")
KEY_CACHE_S = 10.0


class Refusal(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class Guard:
    """ASGI middleware; see the module's docstring."""

    def __init__(self, app, settings: Settings, engine: Engine):
        self.app, self.settings, self.engine = app, settings, engine
        self.max_body = settings.max_body_kb * 1024
        self.csp = content_security_policy(settings)
        self._known: dict[str, tuple[User | None, float]] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        try:
            body = await self._body(scope, receive)
            await self._authorise(scope, body)
        except Refusal as refusal:
            return await _answer(send, refusal)
        sent = False

        async def replay():
            nonlocal sent
            if sent:  # the body was given; further reads wait for the client to go, as before
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                headers.append((b"x-content-type-options", b"nosniff"))
                if kind.startswith(b"text/html"):
                    headers.append((b"content-security-policy", self.csp.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, replay, send_with_headers)

    async def _body(self, scope, receive) -> bytes:
        """The whole body, counted as it arrives; 413 past the limit (Content-Length or not)."""
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise self._too_large()
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self) -> Refusal:
        return Refusal(413, f"request body over {self.settings.max_body_kb} kB "
                            "(GIS_SERVICE_MAX_BODY_KB)")

    async def _authorise(self, scope, body: bytes) -> None:
        path, method = scope["path"], scope["method"]
        if path.startswith("/ogc") and method not in READS:
            user = await self._require(scope, "editor")
            if method == "POST" and EXECUTION.match(path):
                self._check_subscriber(body)
            job = JOB.match(path)
            if method == "DELETE" and job:
                await run_in_threadpool(self._check_owner, job.group(1), user)
        elif not self.settings.public_read and not _open(path) and not path.startswith("/api/"):
            await self._require(scope, "viewer")  # the planning API checks its own reads
        if path.startswith("/ogc"):
            offset = _query(scope, "offset")
            if offset is not None and offset.isdigit() and int(offset) > self.settings.max_offset:
                raise Refusal(400, f"offset {offset} is over {self.settings.max_offset}: narrow the request "
                                   "(bbox, property filters) instead of paging that deep (GIS_SERVICE_MAX_OFFSET)")

    async def _require(self, scope, role: str) -> User:
        key = _key(scope)
        if not key:
            raise Refusal(401, f"this needs an API key with the role {role} (gis-service users add)",
                          {"WWW-Authenticate": "Bearer"})
        user = await run_in_threadpool(self._user, key)
        if user is None:
            raise Refusal(401, "unknown or revoked API key", {"WWW-Authenticate": "Bearer"})
        if not user.may(role):
            raise Refusal(403, f"user {user.name} is {user.role}; this needs {role}")
        return user

    def _user(self, key: str) -> User | None:
        """The key's user, remembered for ``KEY_CACHE_S`` so that a closed map's tiles do not each
        cost a query; a revoked key is refused within that time."""
        now = time.monotonic()
        digest = hashlib.sha256(key.encode()).hexdigest()
        hit = self._known.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self.engine.connect() as conn:
            user = authenticate(conn, key)
        if len(self._known) > 1000:
            self._known.clear()
        self._known[digest] = (user, now + KEY_CACHE_S)
        return user

    def _check_owner(self, job_id: str, user: User) -> None:
        """Only a job's owner or an admin may dismiss it (a job that does not exist is pygeoapi's
        404 to give)."""
        if not job_id.isdigit() or len(job_id) > 18:
            return
        try:
            with self.engine.connect() as conn:
                job_queue.refuse_unless_owner(conn, int(job_id), user)
        except job_queue.JobRefused as refused:
            if refused.reason == "forbidden":
                raise Refusal(403, str(refused)) from refused

    def _check_subscriber(self, body: bytes) -> None:
        try:
            request = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return  # pygeoapi answers malformed JSON itself
        subscriber = request.get("subscriber") if isinstance(request, dict) else None
        if subscriber is None:
            return
        if not isinstance(subscriber, dict):
            raise Refusal(400, "subscriber must be an object of URIs (successUri, inProgressUri, failedUri)")
        allowed = {h.lower() for h in self.settings.callback_hosts}
        for name, uri in subscriber.items():
            host = (urlsplit(str(uri)).hostname or "").lower()
            if host not in allowed:
                raise Refusal(400, f"subscriber {name} {uri!r}: host {host or '(none)'} is not on the "
                                   "allow-list of callback hosts (GIS_SERVICE_CALLBACK_HOSTS)")


def content_security_policy(settings: Settings) -> str:
    """Scripts only from this server; the basemap's host for tiles. pygeoapi's HTML pages keep their
    inline scripts and their Leaflet from unpkg (values inside those scripts are escaped: see
    ``ogc.script_safe_json``)."""
    tiles = urlsplit(settings.basemap_tiles or "")
    basemap = f"{tiles.scheme}://{tiles.netloc.replace('{s}', '*')}" if tiles.netloc else ""
    return ("default-src 'self'; "
            "script-src 'self' 'unsafe-inline' https://unpkg.com; "
            "style-src 'self' 'unsafe-inline' https://unpkg.com; "
            f"img-src 'self' data: blob: {basemap}; "
            f"connect-src 'self' {basemap}; worker-src 'self' blob:; child-src blob:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'").replace("  ", " ")


def _open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _query(scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[-1] if values else None


def _key(scope) -> str | None:
    header = _header(scope, b"authorization") or ""
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return _header(scope, b"x-api-key")


async def _answer(send, refusal: Refusal) -> None:
    body = json.dumps({"detail": {"message": refusal.message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in refusal.headers.items()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
