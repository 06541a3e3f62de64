"""docs/import-rules.md lists, per kind, exactly the fields and column names the importer knows."""

from __future__ import annotations

import re
from pathlib import Path

from gis_service.ingest.kinds import KINDS

DOC = Path(__file__).parents[1] / "docs" / "import-rules.md"


def test_every_kind_field_and_alias_is_documented():
    text = DOC.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^### `(\w+)`\n(.*?)(?=^### |^## |\Z)", text, flags=re.S | re.M))
    assert set(sections) == set(KINDS)
    for name, kind in KINDS.items():
        rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \|[^|]*\|[^|]*\| ([^|]*) \|",
                                                          sections[name], flags=re.M)}
        assert set(rows) == {f.name for f in kind.fields}, name
        for f in kind.fields:
            assert re.findall(r"`([^`]+)`", rows[f.name]) == list(f.aliases), (name, f.name)
