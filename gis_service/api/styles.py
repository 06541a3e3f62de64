"""Layer styles, written once in a layer's YAML and rendered for every client: a QGIS style (QML,
rule-based renderer), an OGC SLD 1.0 style (QGIS, GeoServer, …) and MapLibre style layers for
the web map.

A style is a list of rules (a filter on the layer's properties, a symbol and a label in Bahasa
Indonesia and English). The YAML can give the rules one by one, or have them made: ``categories``
on one field, a second field crossed with the first (facility type gives the marker shape, status
the colour), or ``graduated`` classes on a number whose breaks may come from the national targets
in ``config/targets.yml`` (a coverage choropleth that shows who is below the RPJMN target).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

import yaml
from pydantic import BaseModel, model_validator

from gis_service.api.sprites import MARKER_PX, marker_id


Geometry = Literal["point", "line", "polygon"]
Shape = Literal["circle", "square", "triangle", "diamond", "star", "pentagon", "cross"]
SLD_SHAPES = {"circle": "circle", "square": "square", "triangle": "triangle", "diamond": "square",
              "star": "star", "pentagon": "star", "cross": "cross"}  # SLD's well-known marks


class Label(BaseModel):
    id: str
    en: str


class Symbol(BaseModel):
    """What a feature looks like; unset parts fall back to the layer style's defaults."""

    color: str | None = None          # fill (polygon, point) or stroke (line), #rrggbb
    stroke: str | None = None         # outline colour
    width: float | None = None        # line or outline width, mm
    size: float | None = None         # marker size, mm
    shape: Shape | None = None
    opacity: float | None = None      # fill opacity 0..1

    def over(self, base: "Symbol") -> "Symbol":
        return Symbol(**{**base.model_dump(), **self.model_dump(exclude_none=True)})


class Condition(BaseModel):
    field: str
    op: Literal["=", ">=", "<"] = "="
    value: str | float | int | bool


class Rule(BaseModel):
    label: Label
    where: list[Condition] = []       # all must hold; empty: every feature
    otherwise: bool = False           # only the features no other rule drew
    symbol: Symbol = Symbol()


class Category(BaseModel):
    value: str | int | bool
    label: Label
    symbol: Symbol = Symbol()


class Crossed(BaseModel):
    """A second field crossed with ``categories``: its symbol parts are laid over theirs."""

    field: str
    categories: list[Category]


class Style(BaseModel):
    """A layer's style as written in its YAML (see the module docstring)."""

    geometry: Geometry
    symbol: Symbol = Symbol()         # defaults for every rule
    rules: list[Rule] = []
    field: str | None = None          # for categories or graduated
    categories: list[Category] = []
    crossed: Crossed | None = None
    graduated: list[float | Literal["targets"]] = []  # inner class breaks; "targets": the target values
    colors: list[str] = []            # one per graduated class, low to high
    labels: list[Label] = []          # graduated class labels; default: the class bounds
    unit: str | Label = ""            # after each graduated bound; per language where it is a word

    @model_validator(mode="after")
    def _one_way(self) -> "Style":
        ways = [bool(self.rules), bool(self.categories), bool(self.graduated)]
        if sum(ways) > 1:
            raise ValueError("give rules, categories or graduated, not several")
        if (self.categories or self.graduated) and not self.field:
            raise ValueError("categories and graduated need a field")
        if self.crossed and not self.categories:
            raise ValueError("crossed needs categories to cross")
        return self

    def resolved_rules(self, targets: list[dict] | None = None) -> list[Rule]:
        """The rules to draw, in order, with every symbol complete."""
        if self.categories:
            rules = _category_rules(self.field, self.categories, self.crossed)
        elif self.graduated:
            rules = _graduated_rules(self.field, self.graduated, self.colors, self.unit, targets or [])
            classes, no_data = rules[:-1], rules[-1:]
            if self.labels:
                if len(self.labels) != len(classes):
                    raise ValueError(f"graduated: {len(classes)} classes but {len(self.labels)} labels")
                classes = [rule.model_copy(update={"label": label}) for rule, label in zip(classes, self.labels)]
            rules = classes + no_data
        else:
            rules = self.rules or [Rule(label=Label(id="Semua", en="All"))]
        return [rule.model_copy(update={"symbol": rule.symbol.over(self.symbol.over(DEFAULTS[self.geometry]))})
                for rule in rules]


DEFAULTS = {
    "point": Symbol(color="#3182bd", stroke="#232323", width=0.3, size=3.0, shape="circle", opacity=1.0),
    "line": Symbol(color="#3182bd", stroke="#3182bd", width=0.5, size=0, shape="circle", opacity=1.0),
    "polygon": Symbol(color="#9ecae1", stroke="#4d4d4d", width=0.26, size=0, shape="circle", opacity=0.7),
}


def _category_rules(field: str, categories: list[Category], crossed: Crossed | None) -> list[Rule]:
    rules = []
    for category in categories:
        if crossed is None:
            rules.append(Rule(label=category.label, where=[Condition(field=field, value=category.value)],
                              symbol=category.symbol))
            continue
        for second in crossed.categories:
            rules.append(Rule(
                label=Label(id=f"{category.label.id} – {second.label.id}",
                            en=f"{category.label.en} – {second.label.en}"),
                where=[Condition(field=field, value=category.value),
                       Condition(field=crossed.field, value=second.value)],
                symbol=second.symbol.over(category.symbol)))
    return rules


INDICATOR_WORDS = {"aman_pct": Label(id="aman", en="safely managed"),
                   "layak_pct": Label(id="layak", en="improved"), "babs_pct": Label(id="BABS", en="open defecation")}


def target_breaks(targets: list[dict], language: str = "id") -> list[tuple[float, str]]:
    """Distinct target values strictly between 0 and 100 %, each with the targets that set it, as
    "aman 2024" (id) or "safely managed 2024" (en)."""
    by_value: dict[float, list[str]] = {}
    for target in targets:
        if 0 < float(target["value"]) < 100:
            word = INDICATOR_WORDS.get(target["indicator"])
            name = getattr(word, language) if word else target["indicator"].replace("_pct", "")
            by_value.setdefault(float(target["value"]), []).append(f"{name} {target['year']}")
    return sorted((value, ", ".join(names)) for value, names in by_value.items())


def _graduated_rules(field: str, breaks: list, colors: list[str], unit: str | Label, targets: list[dict]) -> list[Rule]:
    labels = {}
    for language in ("id", "en"):
        values: list[tuple[float, str]] = []
        for item in breaks:
            values += target_breaks(targets, language) if item == "targets" else [(float(item), "")]
        values = sorted(dict(values).items())
        if len(colors) != len(values) + 1:
            raise ValueError(f"graduated: {len(values)} breaks make {len(values) + 1} classes, "
                             f"but {len(colors)} colors are given")
        edges = [None, *[value for value, _ in values], None]
        notes = ["", *[note for _, note in values]]  # the targets a class starts at
        word = getattr(unit, language) if isinstance(unit, Label) else unit
        target = {"id": "target", "en": "target"}[language]
        labels[language] = [
            (f"< {_number(high)}{word}" if low is None else f"≥ {_number(low)}{word}" if high is None
             else f"{_number(low)}–{_number(high)}{word}") + (f" (≥ {target} {note})" if note else "")
            for low, high, note in zip(edges[:-1], edges[1:], notes)]
    rules = []
    for index, color in enumerate(colors):
        low, high = edges[index], edges[index + 1]
        where = ([Condition(field=field, op=">=", value=low)] if low is not None else []) + \
                ([Condition(field=field, op="<", value=high)] if high is not None else [])
        rules.append(Rule(label=Label(id=labels["id"][index], en=labels["en"][index]),
                          where=where, symbol=Symbol(color=color)))
    return rules + [Rule(label=Label(id="Tanpa data", en="No data"), otherwise=True,
                         symbol=Symbol(color="#d9d9d9"))]


def _number(value: float) -> str:
    return f"{value:g}"


def read_targets(path: Path) -> list[dict]:
    """The national targets of ``config/targets.yml`` (class breaks for coverage styles)."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["targets"]


# ---- QGIS (QML) -------------------------------------------------------------------------------

def _rgba(color: str, alpha: float = 1.0) -> str:
    color = color.lstrip("#")
    return ",".join(str(int(color[i:i + 2], 16)) for i in (0, 2, 4)) + f",{round(alpha * 255)}"


def _qgis_expression(where: list[Condition]) -> str:
    parts = []
    for condition in where:
        value = condition.value
        literal = (str(value).lower() if isinstance(value, bool) else f"{value:g}"
                   if isinstance(value, float) else str(value) if isinstance(value, int)
                   else "'" + str(value).replace("'", "''") + "'")
        parts.append(f'"{condition.field}" {condition.op} {literal}')
    return " AND ".join(parts)


def _props(values: dict[str, str]) -> str:
    return "".join(f"<prop k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in values.items())


def _qml_symbol(name: str, geometry: Geometry, symbol: Symbol) -> str:
    if geometry == "point":
        kind, layer = "marker", "SimpleMarker"
        props = {"name": symbol.shape, "color": _rgba(symbol.color, symbol.opacity),
                 "outline_color": _rgba(symbol.stroke), "outline_width": symbol.width,
                 "outline_width_unit": "MM", "size": symbol.size, "size_unit": "MM"}
    elif geometry == "line":
        kind, layer = "line", "SimpleLine"
        props = {"line_color": _rgba(symbol.color, symbol.opacity), "line_width": symbol.width,
                 "line_width_unit": "MM", "capstyle": "round", "joinstyle": "round"}
    else:
        kind, layer = "fill", "SimpleFill"
        props = {"color": _rgba(symbol.color, symbol.opacity), "outline_color": _rgba(symbol.stroke),
                 "outline_width": symbol.width, "outline_width_unit": "MM", "style": "solid"}
    return (f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="{layer}" pass="0" locked="0" enabled="1">{_props(props)}</layer></symbol>')


def qml(style: Style, targets: list[dict] | None = None, *, language: str = "id") -> str:
    """A QGIS style document: a rule-based renderer with one rule per style rule."""
    rules = style.resolved_rules(targets)
    rule_xml = "".join(
        f'<rule key="r{i}" symbol="{i}" label={quoteattr(getattr(rule.label, language))}'
        + (' filter="ELSE"' if rule.otherwise else f" filter={quoteattr(_qgis_expression(rule.where))}"
           if rule.where else "") + "/>"
        for i, rule in enumerate(rules))
    symbols = "".join(_qml_symbol(str(i), style.geometry, rule.symbol) for i, rule in enumerate(rules))
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            '<qgis version="3.22.16" styleCategories="Symbology">\n'
            '<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">'
            f'<rules key="root">{rule_xml}</rules><symbols>{symbols}</symbols></renderer-v2>\n'
            "</qgis>\n")


# ---- SLD 1.0 ----------------------------------------------------------------------------------

SLD_OPS = {"=": "PropertyIsEqualTo", ">=": "PropertyIsGreaterThanOrEqualTo", "<": "PropertyIsLessThan"}


def _sld_filter(rule: Rule) -> str:
    where = rule.where
    if rule.otherwise:
        return "<ElseFilter/>"
    if not where:
        return ""
    parts = [f"<ogc:{SLD_OPS[c.op]}><ogc:PropertyName>{escape(c.field)}</ogc:PropertyName>"
             f"<ogc:Literal>{escape(str(c.value).lower() if isinstance(c.value, bool) else str(c.value))}"
             f"</ogc:Literal></ogc:{SLD_OPS[c.op]}>" for c in where]
    body = parts[0] if len(parts) == 1 else "<ogc:And>" + "".join(parts) + "</ogc:And>"
    return f"<ogc:Filter>{body}</ogc:Filter>"


def _css(name: str, value) -> str:
    return f'<CssParameter name="{name}">{escape(str(value))}</CssParameter>'


def _mm_to_px(mm: float) -> float:
    return round(mm * 96 / 25.4, 2)  # SLD sizes are pixels at 96 dpi


def _sld_symbolizer(geometry: Geometry, s: Symbol) -> str:
    if geometry == "point":
        return ("<PointSymbolizer><Graphic><Mark>"
                f"<WellKnownName>{SLD_SHAPES[s.shape]}</WellKnownName>"
                f"<Fill>{_css('fill', s.color)}{_css('fill-opacity', s.opacity)}</Fill>"
                f"<Stroke>{_css('stroke', s.stroke)}{_css('stroke-width', _mm_to_px(s.width))}</Stroke>"
                f"</Mark><Size>{_mm_to_px(s.size)}</Size></Graphic></PointSymbolizer>")
    if geometry == "line":
        return (f"<LineSymbolizer><Stroke>{_css('stroke', s.color)}{_css('stroke-opacity', s.opacity)}"
                f"{_css('stroke-width', _mm_to_px(s.width))}</Stroke></LineSymbolizer>")
    return (f"<PolygonSymbolizer><Fill>{_css('fill', s.color)}{_css('fill-opacity', s.opacity)}</Fill>"
            f"<Stroke>{_css('stroke', s.stroke)}{_css('stroke-width', _mm_to_px(s.width))}</Stroke>"
            "</PolygonSymbolizer>")


def sld(layer_id: str, title: str, style: Style, targets: list[dict] | None = None, *,
        language: str = "id") -> str:
    """An OGC Styled Layer Descriptor 1.0 for the layer."""
    rules = "".join(
        f"<Rule><Name>r{i}</Name><Title>{escape(getattr(rule.label, language))}</Title>"
        f"{_sld_filter(rule)}{_sld_symbolizer(style.geometry, rule.symbol)}</Rule>"
        for i, rule in enumerate(style.resolved_rules(targets)))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld" '
            'xmlns:ogc="http://www.opengis.net/ogc" xmlns:xlink="http://www.w3.org/1999/xlink" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.opengis.net/sld '
            'http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd">'
            f"<NamedLayer><Name>{escape(layer_id)}</Name><UserStyle><Title>{escape(title)}</Title>"
            f"<FeatureTypeStyle>{rules}</FeatureTypeStyle></UserStyle></NamedLayer>"
            "</StyledLayerDescriptor>\n")


# ---- MapLibre ---------------------------------------------------------------------------------

def _maplibre_filter(where: list[Condition]):
    return ["all", *[[c.op if c.op != "=" else "==", ["get", c.field], c.value] for c in where]]


def maplibre_layers(layer_id: str, style: Style, targets: list[dict] | None = None, *,
                    language: str = "id") -> list[dict]:
    """MapLibre style layers drawing the source ``layer_id`` (its MVT layer has the same name)."""
    out = []
    rules = style.resolved_rules(targets)
    for i, rule in enumerate(rules):
        s = rule.symbol
        layer = {"id": f"{layer_id}-{i}", "source": layer_id, "source-layer": layer_id,
                 "metadata": {"label": getattr(rule.label, language)}}
        if rule.where:
            layer["filter"] = _maplibre_filter(rule.where)
        elif rule.otherwise:
            layer["filter"] = ["!", ["any", *[_maplibre_filter(r.where) for r in rules if r.where]]]
        if style.geometry == "point" and s.shape != "circle":
            # a marker of the sprite (api/sprites.py), scaled to the rule's size; the legend reads
            # its shape and colours from the metadata
            layer |= {"type": "symbol", "layout": {
                "icon-image": marker_id(s.shape, s.color, s.stroke), "icon-size": round(_mm_to_px(s.size) / MARKER_PX, 3),
                "icon-allow-overlap": True, "icon-ignore-placement": True}, "paint": {"icon-opacity": s.opacity}}
            layer["metadata"]["marker"] = {"shape": s.shape, "fill": s.color, "stroke": s.stroke}
        elif style.geometry == "point":
            layer |= {"type": "circle", "paint": {
                "circle-color": s.color, "circle-opacity": s.opacity, "circle-stroke-color": s.stroke,
                "circle-stroke-width": _mm_to_px(s.width), "circle-radius": _mm_to_px(s.size) / 2}}
        elif style.geometry == "line":
            layer |= {"type": "line", "paint": {"line-color": s.color, "line-opacity": s.opacity,
                                                 "line-width": _mm_to_px(s.width)}}
        else:
            out.append({**layer, "id": f"{layer_id}-{i}-outline", "type": "line",
                        "paint": {"line-color": s.stroke, "line-width": _mm_to_px(s.width)}})
            layer |= {"type": "fill", "paint": {"fill-color": s.color, "fill-opacity": s.opacity}}
            out.insert(len(out) - 1, layer)
            continue
        out.append(layer)
    return out


def point_markers(layers, targets: list[dict]) -> set[tuple[str, str, str]]:
    """(shape, fill, stroke) of every marker the point styles draw from the sprite."""
    return {(r.symbol.shape, r.symbol.color, r.symbol.stroke) for layer in layers
            if layer.style is not None and layer.style.geometry == "point"
            for r in layer.style.resolved_rules(targets) if r.symbol.shape != "circle"}


def write_styles(layers, targets: list[dict], folder: Path) -> list[Path]:
    """``<layer>.qml`` and ``<layer>.sld`` for every styled layer, labels in Bahasa Indonesia."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for layer in layers:
        if layer.style is None:
            continue
        for path, content in ((folder / f"{layer.id}.qml", qml(layer.style, targets)),
                              (folder / f"{layer.id}.sld", sld(layer.id, layer.title.id, layer.style, targets))):
            path.write_text(content, encoding="utf-8")
            written.append(path)
    return written
