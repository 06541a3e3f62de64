"""``gis-service pilot``: judge the trial from its operation log (``import pilot_events``)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from gis_service.cli.common import console, err, fail, group
from gis_service.settings import get_settings

pilot_app = group("pilot", "The trial: its scorecard from the operator's log (technical, institutional, financial).")

STATUS_STYLE = {"good": "green", "watch": "yellow", "poor": "bold red", "info": "", "no data": "dim"}


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} takes a date as YYYY-MM-DD (got '{value}')", 2)


def _shown(indicator: str, value) -> str:
    from gis_service.analysis.rounding import number_text

    if value is None:
        return "-"
    if indicator.endswith(("_share", "_rate")):
        return f"{number_text(100 * value, 1, thousands=False)} %"
    if isinstance(value, int):
        return f"{value:,}"
    return number_text(value, 0 if indicator == "revenue_idr" else 2)


@pilot_app.command("evaluate")
def pilot_evaluate(
    pilot: Annotated[Optional[str], typer.Option(help="The pilot's name (default: the only one with a log)")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="First day, YYYY-MM-DD (default: the pilot's start)")] = None,
    to: Annotated[Optional[str], typer.Option(help="Last day, YYYY-MM-DD (default: the pilot's end)")] = None,
    by: Annotated[Optional[str], typer.Option(help="Also per month, village or truck")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scorecard as JSON")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Also write the scorecard as an HTML page (prints on A4)")] = None,
    lang: Annotated[str, typer.Option(help="Language of the recommendations: id or en")] = "id",
) -> None:
    """The trial's scorecard: each indicator over the period, judged good / watch / poor against
    config/pilot_evaluation.yml, with a recommendation where it is not good, and the institutional
    checklist of config/pilot_checklist.yml."""
    from gis_service.analysis.pilot_evaluation import evaluate
    from gis_service.db.engine import make_engine

    if lang not in ("id", "en"):
        fail(f"--lang takes id or en (got '{lang}')", 2)
    start, end = _day(from_, "--from"), _day(to, "--to")
    try:
        with make_engine().connect() as conn:
            card = evaluate(conn, config_dir=get_settings().config_dir, pilot=pilot, start=start, end=end, by=by)
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc), 2)
    if report:
        from gis_service.analysis.scaleup.report import write_trial_report

        err.print(f"wrote {write_trial_report(card, report, lang=lang)}")
    if as_json:
        print(json.dumps(card, default=lambda v: v.isoformat() if isinstance(v, (date, datetime)) else str(v),
                         ensure_ascii=False, indent=1))
        return
    table = Table(title=f"Trial scorecard: {card['pilot']}, {card['period'][0]} to {card['period'][1]}")
    for column in ("indicator", "aspect", "value", "status", "good / poor"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for row in card["scorecard"]:
        bounds = (f"{'≥' if row['better'] == 'higher' else '≤'} {_shown(row['id'], float(row['good']))} / "
                  f"{_shown(row['id'], float(row['poor']))}") if row["better"] else ""
        table.add_row(row["id"], row["aspect"], _shown(row["id"], row["value"]),
                      Text(row["status"], style=STATUS_STYLE[row["status"]]), bounds)
    console.print(table)
    for row in card["scorecard"]:
        if row["recommendation"]:
            console.print(Text(f"{row['id']} ({row['status']}): {row['recommendation'][lang]}"), soft_wrap=True)
    for group_row in card["by"]:
        key = next(k for k in group_row if k not in ("indicators", "status"))
        values = group_row["indicators"]
        console.print(f"{key} {group_row[key]}: " + ", ".join(
            f"{i} {_shown(i, values[i])}" for i in ("emptyings_done", "delivered_share", "collection_rate")), soft_wrap=True)
    done = card["checklist_complete"]
    console.print(f"institutional checklist: {sum(1 for i in card['checklist'] if i['status'] == 'adopted')} of "
                  f"{len(card['checklist'])} items adopted; {'-' if done is None else _shown('x_share', done)} of "
                  "those the roll-out needs (config/pilot_checklist.yml)", soft_wrap=True)
    first, last = card["log_span"]
    month = timedelta(days=31)  # a log ends on the last working day, not the month's last day
    if first and (date.fromisoformat(first) - date.fromisoformat(card["period"][0]) > month
                  or date.fromisoformat(card["period"][1]) - date.fromisoformat(last) > month):
        console.print(f"note: the log covers {first} to {last} of the period {card['period'][0]} to "
                      f"{card['period'][1]}; days without a log count as days without service "
                      "(--from/--to narrow the period)", soft_wrap=True)
    if card["illustrative_thresholds"]:
        console.print("note: the thresholds are ILLUSTRATIVE assumptions (config/pilot_evaluation.yml); "
                      "set your own with their sources", soft_wrap=True)
