"""OGC API - Features provider: pygeoapi's PostgreSQL provider, with each response built by
PostgreSQL in one statement.

The stock provider counts in one query, loads ORM objects in another, and turns every geometry
into GeoJSON in Python through shapely (and a feature by id costs three queries). Here the page,
its GeoJSON and the count come back as one JSON text in one round trip; the filters (property,
bbox, datetime, CQL2 through pygeofilter) and the table reflection stay the stock provider's, so
queryables, sorting and filtering behave as documented for pygeoapi.

Counts stay fast on large tables: when PostgreSQL's planner expects more rows than ``count_limit``
(provider option ``count: {limit: N}``), ``numberMatched`` is left out, as OGC API - Features allows, instead of
counting them all. Output CRS (Part 2) is applied in SQL with ``ST_Transform``; CRSs whose axis
order is latitude first (EPSG:4326) get their coordinates flipped, as the standard requires.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import time

import pyproj
from pygeoapi.provider.base import ProviderInvalidQueryError, ProviderItemNotFoundError
from pygeofilter import ast, values
from pygeoapi.provider.sql import PostgreSQLProvider
from sqlalchemy import JSON, Text, and_, cast, func, literal_column, null, select
from sqlalchemy.exc import DataError, ProgrammingError

JSON_ARGS_MAX = 100  # PostgreSQL's limit on function arguments (json_build_object takes pairs)
DEFAULT_COUNT_LIMIT = 100_000


@functools.lru_cache(maxsize=64)
def output_crs(target_wkt: str) -> tuple[int, bool, int]:
    """The SRID to transform to, whether its axis order is latitude first, and the decimals
    that keep about a centimetre."""
    crs = pyproj.CRS.from_wkt(target_wkt)
    epsg = crs.to_epsg()
    if epsg is None:
        raise ProviderInvalidQueryError(user_msg=f"output CRS has no EPSG code: {crs.name}")
    first_axis = crs.axis_info[0].direction.lower() if crs.axis_info else "east"
    return epsg, first_axis in ("north", "south"), 7 if crs.is_geographic else 2


class FastFeatureProvider(PostgreSQLProvider):
    """pygeoapi feature provider for a PostGIS table or view, responses built in SQL."""

    def __init__(self, provider_def: dict):
        super().__init__(provider_def)
        count = provider_def.get("options", {}).get("count", {})
        self.count_limit = int(count.get("limit", DEFAULT_COUNT_LIMIT))
        self.table_def = self.table_model.__table__

    def query(self, offset=0, limit=10, resulttype="results", bbox=[], datetime_=None, properties=[],
              sortby=[], select_properties=[], skip_geometry=False, q=None, filterq=None,
              crs_transform_spec=None, **kwargs):
        where = and_(self._get_property_filters(properties), self._get_cql_filters(filterq),
                     self._get_bbox_filter(bbox), self._get_datetime_filter(datetime_))
        columns = self._public_columns(select_properties)
        order = self._get_order_by_clauses(sortby, self.table_model)
        matched = None
        if resulttype == "hits" or not self._too_many_to_count(where):
            matched = select(func.count()).select_from(self.table_def).where(where).scalar_subquery()
        features = literal_column("'[]'::json")
        if resulttype != "hits":
            page = (select(self._feature(columns, skip_geometry, crs_transform_spec).label("f"))
                    .where(where).order_by(*order).offset(offset).limit(limit).subquery())
            features = select(func.coalesce(func.json_agg(page.c.f), literal_column("'[]'::json"))
                              ).scalar_subquery()
        statement = select(func.json_build_object(
            "numberMatched", matched if matched is not None else null(),
            "features", features))
        result = self._fetch_json(statement)
        response = {"type": "FeatureCollection", "features": result["features"],
                    "numberReturned": len(result["features"])}
        if result["numberMatched"] is not None:
            response["numberMatched"] = result["numberMatched"]
        return response

    def get(self, identifier, crs_transform_spec=None, **kwargs):
        id_column = self.table_def.c[self.id_field]
        try:
            key = id_column.type.python_type(identifier)
        except (TypeError, ValueError, NotImplementedError):
            raise ProviderItemNotFoundError(user_msg=f"No such item: {self.id_field}={identifier}.")
        feature = (select(self._feature(self._public_columns([]), False, crs_transform_spec))
                   .where(id_column == key).scalar_subquery())
        previous = select(func.max(id_column)).where(id_column < key).scalar_subquery()
        following = select(func.min(id_column)).where(id_column > key).scalar_subquery()
        result = self._fetch_json(select(func.json_build_object(
            "feature", feature, "prev", previous, "next", following)))
        if result["feature"] is None:
            raise ProviderItemNotFoundError(user_msg=f"No such item: {self.id_field}={identifier}.")
        feature = result["feature"]
        feature["prev"] = result["prev"] if result["prev"] is not None else feature["id"]
        feature["next"] = result["next"] if result["next"] is not None else feature["id"]
        return feature

    def _get_cql_filters(self, filterq):
        """The stock CQL2 translation, after checking every property the filter names."""
        unknown = sorted({name for name in _attributes(filterq) if name not in self.table_def.c})
        if unknown:
            raise ProviderInvalidQueryError(user_msg=
                f"unknown propert{'y' if len(unknown) == 1 else 'ies'} in filter: {', '.join(unknown)}; "
                f"see /queryables for the properties this collection can be filtered on")
        _crs84_as_epsg4326(filterq)
        return super()._get_cql_filters(filterq)

    def _get_datetime_filter(self, datetime_):
        """A collection without a time property matches every feature in any valid instant or
        interval (/req/core/fc-time-response C); pygeoapi checks the syntax only for collections
        with a temporal extent, so it is checked here for the others."""
        if self.time_field is None:
            if datetime_ is not None and not _is_datetime(datetime_):
                raise ProviderInvalidQueryError(user_msg=f"datetime {datetime_!r} is not an RFC 3339 instant "
                                                         "or interval, e.g. 2024-01-01T00:00:00Z or 2024-01-01/..")
            return True
        return super()._get_datetime_filter(datetime_)

    def _public_columns(self, select_properties: list[str]) -> list:
        """The property columns to return: the requested ones, within the layer's public ones."""
        names = [name for name in self.fields if name != self.id_field]
        if self.properties:
            names = [name for name in names if name in self.properties]
        if select_properties:
            names = [name for name in names if name in select_properties]
        return [self.table_def.c[name] for name in names]

    def _feature(self, columns: list, skip_geometry: bool, crs_transform_spec):
        """A GeoJSON Feature as one SQL JSON expression."""
        geometry = null()
        if not skip_geometry:
            geom = self.table_def.c[self.geom]
            decimals = 7
            if crs_transform_spec is not None:
                srid, flip, decimals = output_crs(crs_transform_spec.target_crs_wkt)
                geom = func.ST_Transform(geom, srid)
                if flip:
                    geom = func.ST_FlipCoordinates(geom)
            geometry = cast(func.ST_AsGeoJSON(geom, decimals, 0), JSON)  # 0: no "crs" member
        return func.json_build_object("type", "Feature", "id", self.table_def.c[self.id_field],
                                      "geometry", geometry, "properties", _json_object(columns))

    def _too_many_to_count(self, where) -> bool:
        """Whether the planner expects more matching rows than ``count_limit``."""
        if self.count_limit <= 0:
            return True
        statement = select(literal_column("1")).select_from(self.table_def).where(where)
        try:
            sql = str(statement.compile(self._engine, compile_kwargs={"literal_binds": True}))
        except Exception:  # a value SQLAlchemy cannot inline: count it, as the stock provider does
            return False
        return planned_rows(self._engine, sql) > self.count_limit

    def _fetch_json(self, statement) -> dict:
        with self._engine.connect() as conn:
            try:
                text = conn.execute(select(cast(statement.scalar_subquery(), Text))).scalar()
            except (DataError, ProgrammingError, ValueError) as exc:  # a value of the wrong type, a NUL
                raise ProviderInvalidQueryError(user_msg=_first_line(exc)) from exc
        return json.loads(text)


PLAN_TTL_S = 60.0
_plans: dict[tuple, tuple[float, float]] = {}


def planned_rows(engine, sql: str, params: tuple = ()) -> float:
    """The planner's row estimate for ``sql``, kept a minute: it only decides whether to count."""
    key, now = (str(engine.url), sql, params), time.monotonic()
    cached = _plans.get(key)
    if cached and now - cached[0] < PLAN_TTL_S:
        return cached[1]
    try:
        with engine.connect() as conn:
            plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params or None).scalar()
            rows = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]["Plan Rows"]
    except Exception:  # the estimate is an optimisation only: when it fails, count
        return 0.0
    if len(_plans) > 1024:
        _plans.clear()
    _plans[key] = (now, rows)
    return rows


def _json_object(columns: list):
    """``json_build_object`` over the columns, in chunks below PostgreSQL's argument limit."""
    if not columns:
        return literal_column("'{}'::json")
    per_call = JSON_ARGS_MAX // 2
    parts = []
    for start in range(0, len(columns), per_call):
        pairs = [arg for column in columns[start:start + per_call] for arg in (column.name, column)]
        parts.append(func.jsonb_build_object(*pairs) if len(columns) > per_call else
                     func.json_build_object(*pairs))
    if len(parts) == 1:
        return parts[0]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined.op("||")(part)
    return combined


def _is_datetime(value: str) -> bool:
    """An RFC 3339 instant, or an interval of two with open ends as '..' or empty."""
    parts = value.split("/")
    if len(parts) > 2 or (len(parts) == 1 and parts[0] in ("", "..")):
        return False
    for part in parts:
        if part in ("", ".."):
            continue
        try:
            dt.datetime.fromisoformat(part)
        except ValueError:
            return False
    return True


def _attributes(node) -> list[str]:
    """The property names a parsed CQL2 filter refers to."""
    if isinstance(node, ast.Attribute):
        return [node.name]
    if isinstance(node, ast.Node):
        return [name for child in node.get_sub_nodes() for name in _attributes(child)]
    if isinstance(node, (list, tuple)):
        return [name for child in node for name in _attributes(child)]
    return []


def _crs84_as_epsg4326(node) -> None:
    """pygeoapi labels filter geometries with the storage CRS as ``urn:ogc:def:crs:OGC::CRS84``,
    which pygeofilter turns into the invalid ``SRID=CRS84``; CRS84 is SRID 4326 in PostGIS."""
    if isinstance(node, values.Geometry):
        name = node.geometry.get("crs", {}).get("properties", {}).get("name", "")
        if name.endswith("::CRS84"):
            node.geometry["crs"]["properties"]["name"] = "urn:ogc:def:crs:EPSG::4326"
    elif isinstance(node, ast.Node):
        for child in node.get_sub_nodes():
            _crs84_as_epsg4326(child)
    elif isinstance(node, (list, tuple)):
        for child in node:
            _crs84_as_epsg4326(child)


def _first_line(exc: Exception) -> str:
    message = str(getattr(exc, "orig", exc)).strip().splitlines()
    return re.sub(r"\s+", " ", message[0]) if message else "query failed"
