"""The hot paths of the OGC APIs — GeoJSON item pages, features by id and vector tiles — answered
in front of pygeoapi with one SQL statement each, without parsing the GeoJSON in Python.

pygeoapi (with our provider, ``features.py``) answers every request correctly, but for a page of
100 features it spends more time in Python — provider set-up, turning PostgreSQL's JSON into dicts,
links, and serialising the dicts again — than PostgreSQL spends building the page. Web maps and
QGIS mostly ask for plain pages: ``limit``, ``offset``, ``bbox``, property filters, ``sortby``,
``properties`` and ``skipGeometry``, as JSON. This ASGI middleware answers exactly those, with the
features text from PostgreSQL spliced unparsed into pygeoapi's response layout (same members, same
links), and hands everything else — HTML, JSON-LD, CQL2 filters, ``crs``, ``datetime``, any value
it does not accept, a missing feature, an error — to pygeoapi unchanged, so the behaviour and the
error messages stay pygeoapi's. Tiles are our tile provider's (``tiles.py``) statement, called
directly instead of through pygeoapi's tiles API (which costs more than a small tile's SQL); a tile
outside the layer's zoom range or any unusual request again goes to pygeoapi.
``tests/test_hot_paths.py`` compares both answers request by request.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote

import anyio
from sqlalchemy.engine import Engine

from gis_service.api.features import planned_rows
from gis_service.api.layers import Layer, table_columns

ITEMS_PATH = re.compile(r"^/collections/(?P<collection>[^/]+)/items(?:/(?P<fid>[^/]+))?$")
TILE_PATH = re.compile(r"^/collections/(?P<collection>[^/]+)/tiles/WebMercatorQuad/(?P<z>\d+)/(?P<y>\d+)/(?P<x>\d+)$")
MVT_TYPE = b"application/vnd.mapbox-vector-tile"
EXECUTE_PATH = re.compile(r"^/processes/[^/]+/execution$")
FAST_PARAMS = {"f", "limit", "offset", "after", "bbox", "sortby", "properties", "skipGeometry", "lang"}
AFTER_ONLY_HERE = ("'after' (keyset paging) pages GeoJSON items in id order, without 'sortby' or 'offset': "
                   "follow the page's 'next' link")
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
LANGUAGES = {"id": "id-ID", "en": "en-US"}
NUMERIC = {"integer", "bigint", "smallint"}


class Fallback(Exception):
    """The request is not one the fast path answers: pygeoapi does."""


class BadRequest(Exception):
    """A request neither the fast path nor pygeoapi can answer as asked: 400 with the message."""


@dataclass(frozen=True)
class Table:
    """What the fast path needs to know of a layer's view: its columns and their types."""

    layer: Layer
    columns: dict[str, str]  # name -> PostgreSQL data type, in table order
    public: tuple[str, ...]  # property columns published (not the id, not the geometry)

    def quoted(self, name: str) -> str:
        return 't."' + name.replace('"', '""') + '"'


class HotPaths:
    """ASGI middleware in front of pygeoapi's application (mounted at /ogc)."""

    def __init__(self, app, layers: list[Layer], engine: Engine, tile_providers: dict[str, dict], *,
                 ogc_url: str, default_limit: int, max_limit: int, count_limit: int):
        self.app, self.engine, self.ogc_url = app, engine, ogc_url
        self.layers = {layer.id: layer for layer in layers}
        self.default_limit, self.max_limit, self.count_limit = default_limit, max_limit, count_limit
        self._tables: dict[str, Table] = {}
        self._tile_defs, self._tiles = tile_providers, {}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET":
            root = scope.get("root_path", "")
            path = scope["path"][len(root):] if scope["path"].startswith(root) else scope["path"]
            items, tile = ITEMS_PATH.match(path), TILE_PATH.match(path)
            try:
                if items and items["collection"] in self.layers:
                    body, language = await anyio.to_thread.run_sync(
                        self._answer, items["collection"], items["fid"], scope)
                    headers = [(b"content-type", b"application/json"),
                               (b"content-language", LANGUAGES[language].encode()),
                               (b"content-crs", f"<{CRS84}>".encode())]
                elif tile and tile["collection"] in self._tile_defs:
                    body = await anyio.to_thread.run_sync(self._tile, tile, scope)
                    headers = [(b"content-type", MVT_TYPE), (b"content-language", b"en-US")]
                else:
                    raise Fallback
            except Fallback as exc:
                if items and items["collection"] in self.layers and any(  # pygeoapi would ignore it
                        name == "after" for name, _ in parse_qsl(
                            scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)):
                    if exc.__cause__ is not None:  # the page failed (database gone, timeout): not the request
                        await _error(send, "the page could not be read; try again later", status=503,
                                     code="ServerError")
                    else:
                        await _error(send, AFTER_ONLY_HERE)
                    return
            except BadRequest as exc:
                await _error(send, str(exc))
                return
            else:
                await _respond(send, 200, headers, body)
                return
        if scope["type"] == "http" and scope["method"] == "POST":
            receive = await self._guard_post(scope, receive, send)
            if receive is None:
                return
        await self.app(scope, receive, send)

    async def _guard_post(self, scope, receive, send):
        """pygeoapi 0.21 answers 500 to an execute request whose body is not a UTF-8 JSON object
        and to a POST to items without a Content-Type; these get a 400 here. Returns the receive
        channel for pygeoapi (the body replayed), or None when the answer has been sent."""
        root = scope.get("root_path", "")
        path = scope["path"][len(root):] if scope["path"].startswith(root) else scope["path"]
        if ITEMS_PATH.match(path):
            if not any(name.lower() == b"content-type" for name, _ in scope.get("headers", [])):
                await _error(send, "a POST to items needs a Content-Type (application/geo+json)")
                return None
            return receive
        if not EXECUTE_PATH.match(path):
            return receive
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client has gone
            body, more = body + message.get("body", b""), message.get("more_body", False)
        try:
            document = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            document = None
        if not isinstance(document, dict):
            await _error(send, 'an execute request is a JSON object in UTF-8, e.g. {"inputs": {...}}')
            return None
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()
        return replay

    def _tile(self, match, scope) -> bytes:
        """A vector tile from our tile provider, when asked for as ``?f=mvt`` (or ``pbf``) and nothing else."""
        if scope.get("query_string", b"") not in (b"f=mvt", b"f=pbf"):  # pbf: the advertised name
            raise Fallback
        collection = match["collection"]
        provider = self._tiles.get(collection)
        if provider is None:
            from gis_service.api.tiles import FastMVTProvider

            provider = self._tiles[collection] = FastMVTProvider({**self._tile_defs[collection],
                                                                  "engine": self.engine})
        try:
            return provider.get_tiles(layer=collection, tileset="WebMercatorQuad",
                                      z=match["z"], y=match["y"], x=match["x"], format_="mvt")
        except Exception as exc:  # outside the zoom range or the matrix: pygeoapi's 404
            raise Fallback from exc

    # ---- the request --------------------------------------------------------------------------

    def _answer(self, collection: str, fid: str | None, scope) -> tuple[bytes, str]:
        params = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        names = [name for name, _ in params]
        if len(set(names)) != len(names):
            raise Fallback
        query = dict(params)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if query.get("f", "json") != "json" or ("f" not in query and "text/html" in headers.get("accept", "")):
            raise Fallback
        language = _language(query.get("lang"), headers.get("accept-language", ""))
        try:
            table = self._table(collection)
            if any(name not in FAST_PARAMS and name not in table.public for name in names):
                raise Fallback
            if fid is None:
                return self._page(table, params, query, language), language
            return self._feature(table, fid, query, language), language
        except (Fallback, BadRequest):
            raise
        except Exception as exc:  # any failure: pygeoapi answers, with its own error if there is one
            raise Fallback from exc

    def _table(self, collection: str) -> Table:
        table = self._tables.get(collection)
        if table is None:
            layer = self.layers[collection]
            with self.engine.connect() as conn:
                columns = table_columns(conn, layer)
            if not columns:
                raise Fallback
            table = self._tables[collection] = Table(layer, columns, tuple(layer.public(columns)))
        return table

    # ---- a page -------------------------------------------------------------------------------

    def _page(self, table: Table, params: list[tuple[str, str]], query: dict, language: str) -> bytes:
        """A page of items. In id order (no ``sortby``) the ``next`` link carries ``after`` = the
        page's last id (keyset paging): the next page starts at that key in the id index, so page
        1,000 costs what page 1 does, where an offset makes PostgreSQL read and drop every row
        before it."""
        limit = min(_positive_int(query.get("limit", str(self.default_limit)), minimum=1), self.max_limit)
        offset = _positive_int(query.get("offset", "0"), minimum=0)
        where, values = ["true"], []
        if "bbox" in query:
            where.append(f"ST_Intersects({table.quoted(table.layer.geometry)}, ST_MakeEnvelope(%s, %s, %s, %s, 4326))")
            values += _bbox(query["bbox"])
        for name, value in params:
            if name in table.public:
                where.append(f"{table.quoted(name)} = %s")
                values.append(_typed(value, table.columns[name]))
        condition = " AND ".join(where)
        source = f'FROM "{table.layer.table}" t WHERE {condition}'
        id_column = table.quoted(table.layer.id_field)
        after = query.get("after")
        page_source, page_values = source, list(values)
        if after is not None:
            if query.get("sortby") or "offset" in query:
                raise BadRequest(AFTER_ONLY_HERE)
            try:
                page_values.append(_typed(after, table.columns[table.layer.id_field]))
            except Fallback:
                raise BadRequest(f"'after' must be of the type of this collection's ids, got {after[:40]!r}") from None
            page_source += f" AND {id_column} > %s"
        order = _order(table, query.get("sortby"))
        feature = _feature_json(table, _selected(table, query.get("properties")), _flag(query.get("skipGeometry")))
        count_matched = self.count_limit > 0 and planned_rows(
            self.engine, f"SELECT 1 {source}", tuple(values)) <= self.count_limit
        sql = ("SELECT coalesce(json_agg(p.j), '[]')::text, count(*), max(p.k)::text"
               + (f", (SELECT count(*) {source})" if count_matched else ", NULL")
               + f" FROM (SELECT {feature} AS j, {id_column} AS k {page_source} "
                 f"ORDER BY {order} LIMIT %s OFFSET %s) p")
        with self.engine.connect() as conn:
            features, returned, last, matched = conn.exec_driver_sql(  # the count's values come first
                sql, (tuple(values) if count_matched else ()) + tuple(page_values) + (limit, offset)).one()
        keyset = not query.get("sortby")
        links = self._page_links(table, params, language, limit, offset, returned, matched,
                                 after=last if keyset else None, keyset_page=after is not None)
        head = '{"type": "FeatureCollection", "features": '
        tail = {"numberReturned": returned, **({"numberMatched": matched} if matched is not None else {}),
                "links": links, "timeStamp": _now()}
        return (head + features + ", " + json.dumps(tail, ensure_ascii=False)[1:]).encode()

    def _page_links(self, table: Table, params, language: str, limit: int, offset: int, returned: int,
                    matched: int | None, *, after: str | None, keyset_page: bool) -> list[dict]:
        """pygeoapi's links for an items page (api/itemtypes.py), in its order and wording; in id
        order the next page is asked for by ``after``, and a page asked for by ``after`` has no
        ``prev`` link (its start is not known without reading backwards)."""
        uri = f"{self.ogc_url}/collections/{table.layer.id}/items"
        kept = "".join(f"&{quote(k, safe='')}={quote(str(v), safe=',')}" for k, v in params
                       if k not in ("f", "offset", "after"))
        links = [{"type": "application/geo+json", "rel": "self", "title": "This document as GeoJSON",
                  "href": f"{uri}?f=json{kept}" + (f"&after={quote(dict(params)['after'], safe='')}"
                                                   if keyset_page else "")},
                 {"rel": "alternate", "type": "application/ld+json", "title": "This document as RDF (JSON-LD)",
                  "href": f"{uri}?f=jsonld{kept}"},
                 {"type": "text/html", "rel": "alternate", "title": "This document as HTML",
                  "href": f"{uri}?f=html{kept}"}]
        if offset > 0:
            links.append({"type": "application/geo+json", "rel": "prev", "title": "Items (prev)",
                          "href": f"{uri}?offset={max(0, offset - limit)}{kept}"})
        more = returned == limit if keyset_page else \
            (matched if matched is not None else -1) > limit + offset or returned == limit
        if more and returned:
            start = f"after={quote(after, safe='')}" if after is not None else f"offset={offset + limit}"
            links.append({"type": "application/geo+json", "rel": "next", "title": "Items (next)",
                          "href": f"{uri}?{start}{kept}"})
        links.append({"type": "application/json", "title": getattr(table.layer.title, language),
                      "rel": "collection", "href": uri.rsplit("/", 1)[0]})
        return links

    # ---- a feature ----------------------------------------------------------------------------

    def _feature(self, table: Table, fid: str, query: dict, language: str) -> bytes:
        if set(query) - {"f", "lang"}:
            raise Fallback
        id_column, id_type = table.quoted(table.layer.id_field), table.columns[table.layer.id_field]
        key = _typed(fid, id_type)
        source = f'FROM "{table.layer.table}" t'
        sql = (f"SELECT ({_feature_json(table, table.public, False)})::text, "
               f"(SELECT max({id_column}) {source} WHERE {id_column} < %s), "
               f"(SELECT min({id_column}) {source} WHERE {id_column} > %s) {source} WHERE {id_column} = %s")
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql(sql, (key, key, key)).first()
        if row is None:
            raise Fallback  # pygeoapi's 404
        feature, previous, following = row
        uri = f"{self.ogc_url}/collections/{table.layer.id}/items/{fid}"
        collection = f"{self.ogc_url}/collections/{table.layer.id}"
        previous = key if previous is None else previous
        following = key if following is None else following
        links = [
            {"type": "application/json", "rel": "root", "title": "The landing page of this server as JSON",
             "href": f"{self.ogc_url}?f=json"},
            {"type": "text/html", "rel": "root", "title": "The landing page of this server as HTML",
             "href": f"{self.ogc_url}?f=html"},
            {"rel": "self", "type": "application/geo+json", "title": "This document as JSON", "href": f"{uri}?f=json"},
            {"rel": "alternate", "type": "application/ld+json", "title": "This document as RDF (JSON-LD)",
             "href": f"{uri}?f=jsonld"},
            {"rel": "alternate", "type": "text/html", "title": "This document as HTML", "href": f"{uri}?f=html"},
            {"rel": "collection", "type": "application/json", "title": getattr(table.layer.title, language),
             "href": collection},
            {"rel": "prev", "type": "application/json", "href": f"{collection}/items/{previous}?f=json"},
            {"rel": "next", "type": "application/json", "href": f"{collection}/items/{following}?f=json"}]
        tail = json.dumps({"prev": previous, "next": following, "links": links}, ensure_ascii=False)
        return (feature.rstrip()[:-1] + ", " + tail[1:]).encode()


async def _respond(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": headers + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _error(send, description: str, *, status: int = 400, code: str = "InvalidParameterValue") -> None:
    """An OGC exception document, as pygeoapi writes them."""
    body = json.dumps({"code": code, "type": code, "description": description}).encode()
    await _respond(send, status, [(b"content-type", b"application/json")], body)


# ---- SQL pieces -------------------------------------------------------------------------------

def _feature_json(table: Table, columns: tuple[str, ...] | list[str], skip_geometry: bool) -> str:
    """A GeoJSON Feature as a SQL expression (json_build_object takes at most 100 arguments)."""
    pairs = [f"'{name}', {table.quoted(name)}" for name in columns]
    chunks = [", ".join(pairs[i:i + 50]) for i in range(0, len(pairs), 50)] or [""]
    properties = (f"json_build_object({chunks[0]})" if len(chunks) == 1 else
                  "(" + " || ".join(f"jsonb_build_object({chunk})" for chunk in chunks) + ")::json")
    geometry = "NULL" if skip_geometry else f"ST_AsGeoJSON({table.quoted(table.layer.geometry)}, 7, 0)::json"
    return (f"json_build_object('type', 'Feature', 'id', {table.quoted(table.layer.id_field)}, "
            f"'geometry', {geometry}, 'properties', {properties})")


def _order(table: Table, sortby: str | None) -> str:
    if not sortby:
        return table.quoted(table.layer.id_field) + " ASC"
    terms = []
    for item in sortby.split(","):
        direction = "DESC" if item.startswith("-") else "ASC"
        name = item[1:] if item[:1] in ("+", "-") else item
        if name not in table.columns or name == table.layer.geometry:
            raise Fallback
        terms.append(f"{table.quoted(name)} {direction}")
    return ", ".join(terms)


def _selected(table: Table, properties: str | None) -> tuple[str, ...]:
    if properties is None:
        return table.public
    names = [name for name in properties.split(",") if name]
    if any(name not in table.columns for name in names):
        raise Fallback  # pygeoapi says which property is unknown
    return tuple(name for name in table.public if name in names)


def _typed(value: str, data_type: str):
    """A request value as the column's type, so PostgreSQL compares like with like."""
    if data_type in NUMERIC:
        if not re.fullmatch(r"-?\d+", value):
            raise Fallback
        return int(value)
    if data_type in ("numeric", "double precision", "real"):
        number = float(value)
        if not math.isfinite(number):
            raise Fallback
        return number
    if data_type == "boolean":
        if value.lower() not in ("true", "false"):
            raise Fallback
        return value.lower() == "true"
    if data_type in ("text", "character varying"):
        return value
    raise Fallback  # dates and others: pygeoapi's provider casts them


def _bbox(value: str) -> list[float]:
    parts = value.split(",")
    if len(parts) != 4:
        raise Fallback
    minx, miny, maxx, maxy = (float(part) for part in parts)
    if not all(map(math.isfinite, (minx, miny, maxx, maxy))) or minx > maxx or miny > maxy:
        raise Fallback
    return [minx, miny, maxx, maxy]


def _positive_int(value: str, *, minimum: int) -> int:
    if not re.fullmatch(r"\d+", value) or int(value) < minimum:
        raise Fallback
    return int(value)


def _flag(value: str | None) -> bool:
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise Fallback


def _language(lang: str | None, accept: str) -> str:
    """``id`` or ``en``: the ``lang`` parameter, else the best of Accept-Language, else id."""
    if lang:
        return "en" if lang.lower().startswith("en") else "id"
    best, best_q = "id", -1.0
    for part in accept.split(","):
        tag, _, q = part.strip().partition(";q=")
        tag = tag.strip().lower()[:2]
        weight = float(q) if q.replace(".", "", 1).isdigit() else 1.0
        if tag in LANGUAGES and weight > best_q:
            best, best_q = tag, weight
    return best


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
