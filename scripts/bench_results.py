"""Where every benchmark leaves its results: ``benchmarks/results/``.

Each run writes its full results as ``<benchmark>-<UTC date and time>-<commit>.json`` and appends
one line to ``benchmarks/results/summary.tsv`` (UTC time, commit, benchmark, summary), so the
history of the figures in ``docs/benchmarks.md`` stays in the repository next to the code that
produced them. The commit carries ``+dirty`` when the working tree had uncommitted changes.
Nothing here names the machine's paths; the machine is described by its core count and memory.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=False).stdout  # not stripped: status lines start with a space
    except OSError:
        return ""


def head() -> str:
    """Short commit of the checkout; 'unknown' outside git."""
    return _git("rev-parse", "--short", "HEAD").strip() or "unknown"


def changed_files() -> list[str]:
    """Tracked files with uncommitted changes (new files and earlier results, such as the summary
    line another benchmark just appended, do not count)."""
    return [line[3:] for line in _git("status", "--porcelain", "--untracked-files=no").splitlines()
            if not line[3:].startswith("benchmarks/results/")]


def commit() -> str:
    """``head()``, with ``+dirty`` when tracked files have uncommitted changes."""
    return head() + ("+dirty" if changed_files() else "")


def machine() -> dict:
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        memory_gib = None
    return {"cores": os.cpu_count(), "memory_gib": memory_gib}


def record(benchmark: str, results: object, summary: str, *, directory: Path = RESULTS) -> Path:
    """Write ``results`` (JSON-able) and append the one-line ``summary``; returns the JSON path."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    rev = commit()
    path = directory / f"{benchmark}-{now:%Y%m%dT%H%M%SZ}-{rev.replace('+', '-')}.json"
    path.write_text(json.dumps({"benchmark": benchmark, "commit": rev, "utc": now.isoformat(timespec="seconds"),
                                "machine": machine(), "summary": summary, "results": results},
                               indent=1, default=str) + "\n", encoding="utf-8")
    line = "\t".join([now.isoformat(timespec="seconds"), rev, benchmark, " ".join(summary.split())])
    with (directory / "summary.tsv").open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    print(f"\nresults: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print(f"summary: {line}")
    return path
