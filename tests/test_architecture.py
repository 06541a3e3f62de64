"""The house keeps itself: the import contracts hold (import-linter, configured in pyproject.toml),
no module of the package grows past 600 lines (migrations aside), and nothing a clone ships points
at ../shared, which a clone does not have."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600


def test_the_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"Contracts: (\d+) kept, 0 broken", done.stdout).group(1) == "2", done.stdout


def test_no_module_is_over_600_lines():
    sizes = {str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
             for path in (ROOT / "gis_service").rglob("*.py") if "migrations" not in path.parts}
    assert len(sizes) > 50
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_nothing_shipped_points_outside_the_repository():
    shipped = [*(p for p in (ROOT / "gis_service").rglob("*.py") if "migrations" not in p.parts),  # history *(ROOT / "config").rglob("*.yml"),
               *(ROOT / "layers").glob("*.yml"), *(ROOT / "docs").glob("*.md"), ROOT / "README.md",
               *(ROOT / "scripts").glob("*.py"), *(ROOT / "web" / "app").glob("*.js")]
    outside = re.compile(r"\.\./shared|shared/(DOMAIN|PERFORMANCE|TOOLCHAIN|ARCHITECTURE)\.md|(?<![\w/])DOMAIN\.md")
    found = [f"{path.relative_to(ROOT)}:{number}" for path in shipped
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if outside.search(line) and "shared/data/seruyan" not in line]
    assert found == []


def test_every_default_parameter_is_in_the_domain_page_with_its_source():
    """parameter -> its source -> docs/domain.md in one step: the page lists every parameter of
    config/parameters/default.yml with its value, unit and source, equal to the file."""
    import yaml

    values = yaml.safe_load((ROOT / "config" / "parameters" / "default.yml").read_text(encoding="utf-8"))["values"]
    page = (ROOT / "docs" / "domain.md").read_text(encoding="utf-8")
    table = page.split("<!-- parameters:begin -->", 1)[1].split("<!-- parameters:end -->", 1)[0]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        key, value, unit, source = (cell.strip() for cell in line.strip("|").split(" | "))
        rows[key.strip("`")] = (unit, source)
    assert list(rows) == list(values)
    for key, spec in values.items():
        assert rows[key] == (spec.get("unit", ""), spec.get("source", "").replace("|", "/")), key
        assert spec.get("source", "").startswith(("[U]", "[V]", "[V,")), key  # verified or a default, said so
