"""Which database a command uses, and its SQLAlchemy engine."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine

from gis_service.db.cluster import LocalCluster
from gis_service.settings import Settings, get_settings


def managed_cluster(settings: Settings | None = None) -> LocalCluster:
    s = settings or get_settings()
    return LocalCluster(home=s.data_dir, port=s.db_port, dbname=s.db_name, bin_dir=s.pg_bin_dir)


def database_url(settings: Settings | None = None) -> str:
    """``GIS_SERVICE_DATABASE_URL`` if set, else the managed cluster's URL."""
    s = settings or get_settings()
    if s.database_url:
        url = s.database_url
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return managed_cluster(s).url()


def make_engine(url: str | None = None) -> Engine:
    return create_engine(url or database_url(), pool_pre_ping=True, future=True)


def statement_timeout_option(seconds: float) -> str:
    """libpq's ``options`` that make PostgreSQL cancel a statement after ``seconds`` (0: never)."""
    return f"-c statement_timeout={int(round(seconds * 1000))}"


def make_serving_engine(url: str | None = None, *, statement_timeout_s: float = 30) -> Engine:
    """The API's engine: a pool sized for the server's worker threads and no pre-ping, whose
    ``SELECT 1`` per checkout costs as much as a small page's query. A connection that died is
    detected when used, and SQLAlchemy then renews the pool. Every statement is cancelled after
    ``statement_timeout_s`` (a heavy request must not hold the database). No overflow: overflow connections
    are closed when returned, and under 50 map users that meant ~10 new PostgreSQL connections a
    second at ~45 ms of database CPU each (scripts/benchmark_map.py: p50 0.5 s -> 0.25 s).
    No parallel query workers either, for every statement of the API (the planning API's too): a
    request is short, and a worker process started for a tile of 3,600 network edges costs more
    than it saves (27 ms against 25 serial) while it takes the core other requests need
    (scripts/benchmark_api.py); coarse tiles ask for them back (``api.tiles``)."""
    options = f"{statement_timeout_option(statement_timeout_s)} -c max_parallel_workers_per_gather=0"
    return create_engine(url or database_url(), pool_size=20, max_overflow=0, pool_timeout=30,
                         pool_recycle=3600, future=True, connect_args={"options": options})
