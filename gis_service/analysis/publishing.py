"""Publishing a run: the default layers (``coverage_villages``, ``coverage_gaps``,
``service_areas``, ``scaleup_villages``…), the web map's first view and the QGIS project show the
coverage run and the scale-up plan published last (migration 0010). A run is never published by
being started: an editor publishes it once it has been looked at (``gis-service coverage publish
RUN``, ``gis-service scaleup publish RUN``, ``POST /api/runs/{id}/publish``,
``POST /api/plans/{id}/publish``). Every run stays reachable by its id (the ``*_all_runs`` layers)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Connection, text

Kind = Literal["coverage", "scaleup"]
TABLES: dict[str, str] = {"coverage": "coverage_run", "scaleup": "scaleup_run"}
WHAT = {"coverage": "coverage run", "scaleup": "scale-up plan"}


def publish(conn: Connection, kind: Kind, run_id: int, *, by: str) -> dict:
    """Publish run ``run_id`` of ``kind`` (publishing it again makes it the published one anew);
    returns ``{"id", "published_at", "published_by", "replaces"}``. An unknown run is a
    ValueError naming the runs there are."""
    table = TABLES[kind]
    before = published_run(conn, kind)
    row = conn.execute(text(f"UPDATE {table} SET published_at = clock_timestamp(), published_by = :b "
                            "WHERE id = :i RETURNING id, published_at, published_by"),
                       {"i": run_id, "b": by}).mappings().first()
    if row is None:
        known = conn.execute(text(f"SELECT id FROM {table} ORDER BY id DESC LIMIT 5")).scalars().all()
        raise ValueError(f"no {WHAT[kind]} {run_id}; the latest are: {', '.join(map(str, known)) or 'none'}")
    return {**dict(row), "replaces": before if before != run_id else None}


def published_run(conn: Connection, kind: Kind) -> int | None:
    """The id of the run of ``kind`` the default layers show (None: none published yet)."""
    return conn.execute(text(f"SELECT id FROM {TABLES[kind]} WHERE published_at IS NOT NULL "
                             "ORDER BY published_at DESC, id DESC LIMIT 1")).scalar()
