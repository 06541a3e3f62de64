"""What an import did, record by record, in a form a planner can act on (text) or a script (JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Problem:
    """One finding about one record. ``row`` is 1-based in the file (None = the whole file)."""

    row: int | None
    record: str | None
    reason: str
    fix: str = ""

    def text(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        who = f" ({self.record})" if self.record else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}{who}: {self.reason}.{fix}"


@dataclass
class ImportReport:
    kind: str
    file: str | None
    source: str | None = None
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    written: bool = False
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field -> the file's column it came from
    unused_columns: list[str] = field(default_factory=list)  # columns of the file no field took
    repaired: list[Problem] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    def reject(self, row: int | None, record: object, reason: str, fix: str = "") -> None:
        self.rejected.append(Problem(row, None if record is None else str(record), reason, fix))

    def to_dict(self) -> dict:
        return asdict(self)

    def rejected_rows(self) -> set[int]:
        return {p.row for p in self.rejected if p.row is not None}

    def lines(self, limit: int = 20) -> list[str]:
        out = [f"{self.kind} from {self.file or 'memory'} -> source '{self.source}': read {self.read}, "
               f"inserted {self.inserted}, updated {self.updated}, unchanged {self.unchanged}, "
               f"repaired {len(self.repaired)}, rejected {len(self.rejected)}"
               + ("" if self.written else " - NOTHING WRITTEN")]
        if self.columns:
            out.append("  columns used: " + ", ".join(f"{k} <- {v}" for k, v in self.columns.items()))
        if self.unused_columns:
            names = self.unused_columns
            shown = ", ".join(names[:40]) + (f" and {len(names) - 40} more" if len(names) > 40 else "")
            out.append(f"  columns NOT used ({len(names)}): {shown} (map one with --field FIELD=COLUMN)")
        out += [f"  note: {n}" for n in self.notes]
        for title, items in (("rejected", self.rejected), ("repaired", self.repaired),
                             ("warning", self.warnings)):
            for p in items[:limit]:
                out.append(f"  {title}: {p.text()}")
            if len(items) > limit:
                out.append(f"  ... {len(items) - limit} more {title} (use --json for all)")
        return out


class ImportRejected(Exception):
    """Raised when records were rejected and skipping was not asked for: nothing was written."""

    def __init__(self, report: ImportReport):
        self.report = report
        first = report.rejected[0].text() if report.rejected else "rejected"
        super().__init__(f"{len(report.rejected)} record(s) rejected, nothing written; first: {first}")


class ImportEnvironmentError(Exception):
    """The environment failed (database unreachable, connection lost): nothing was written, and the
    same command can simply be run again. The message is one line for the user."""
