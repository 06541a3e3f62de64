"""``gis-service``: the command line face over the same service functions the API uses. One module
per command group (``db``, ``imports``, ``demo``, ``coverage``, ``scaleup``, ``pilot``, ``exports``,
``serve``, ``users``), the tables they print in ``tables``, what they share in ``common``."""

from __future__ import annotations

import sys

# the command groups register themselves on ``app`` as they are imported, in the order --help lists them
from gis_service.cli import db, imports, demo, coverage, scaleup, rollout, pilot, users, exports, serve  # noqa: F401, I001
from gis_service.cli.common import app, err
from gis_service.cli.tables import print_scaleup
from gis_service.db.cluster import ClusterError

__all__ = ["app", "main", "print_scaleup"]


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except ClusterError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        sys.exit(1)
