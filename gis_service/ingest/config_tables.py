"""Load the parameter sets and targets kept as YAML in ``config/`` into their tables (upsert),
so a run can record exactly which values, with which sources, it used."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from sqlalchemy import Connection, text


def load_parameter_set(conn: Connection, path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    for name, item in doc["values"].items():
        if not isinstance(item, dict) or "value" not in item or not item.get("source"):
            raise ValueError(f"{path.name}: parameter '{name}' needs a value and a source")
    return conn.execute(text(
        "INSERT INTO parameter_set (name, description, values) VALUES (:n, :d, CAST(:v AS jsonb)) "
        "ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, values = EXCLUDED.values "
        "RETURNING id"), {"n": doc["name"], "d": doc.get("description"),
                          "v": json.dumps(doc["values"])}).scalar_one()


def load_targets(conn: Connection, path: Path) -> int:
    with open(path, encoding="utf-8") as fh:
        rows = yaml.safe_load(fh)["targets"]
    for row in rows:
        conn.execute(text(
            "INSERT INTO target (indicator, year, value, scope_code, source) "
            "VALUES (:indicator, :year, :value, :scope, :source) "
            "ON CONFLICT (indicator, year, scope_code) DO UPDATE SET value = EXCLUDED.value, "
            "source = EXCLUDED.source"), {"scope": row.get("scope"), **row})
    return len(rows)
