"""Households per village, kept in ``household_village_count`` (migration 0016) for the
``households_by_village`` layer: counting a million households for every page and tile cost
about 0.7 s a request at province size. Every write of the ``household`` table refreshes it in
the same transaction (``ingest.kinds``), so the layer never shows counts the table does not hold.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from gis_service.vocabulary import LadderRung

RUNGS = tuple(rung.value for rung in LadderRung)  # the table's columns, one per rung


def refresh_household_counts(conn: Connection) -> int:
    """Recount every village's households and surveyed rungs; returns the villages counted.
    Two imports at once take turns here: the second waits for the first to commit, then counts
    both (without the lock its INSERT would meet the first one's rows)."""
    rungs = ", ".join(f"count(*) FILTER (WHERE ladder_rung = '{r}')" for r in RUNGS)
    conn.execute(text("LOCK TABLE household_village_count IN SHARE ROW EXCLUSIVE MODE"))
    conn.execute(text("DELETE FROM household_village_count"))
    return conn.execute(text(
        f"INSERT INTO household_village_count (village_code, households, people_recorded, {', '.join(RUNGS)}) "
        f"SELECT village_code, count(*), sum(members), {rungs} FROM household "
        "WHERE village_code IS NOT NULL GROUP BY village_code")).rowcount
