"""Builders for small input files used across the importer tests."""

from __future__ import annotations

import csv
from pathlib import Path


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def households(n: int, *, x0: float = 112.05, y0: float = -2.9) -> list[dict]:
    """n household rows inside the west test village, with a mix of ladder rungs."""
    rungs = ["aman", "Layak Sendiri", "layak-bersama", "belum layak", "BABS"]
    return [{"id": f"H{i:05d}", "lon": f"{x0 + (i % 100) * 0.001:.6f}", "lat": f"{y0 + (i // 100) * 0.001:.6f}",
             "akses_sanitasi": rungs[i % 5], "tangki_septik": "ya" if i % 5 < 2 else "tidak",
             "jumlah_anggota": str(1 + i % 7)} for i in range(n)]
