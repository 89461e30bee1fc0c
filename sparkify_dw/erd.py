"""The entity-relationship diagram of the warehouse as SVG, laid out in Python.

Drawn from the models alone: one box per table (its columns, types and keys), one arrow
per foreign key, from the referencing column to the referenced one, and a dashed arrow
for a reference the database does not declare (:data:`UNDECLARED`: ``songplays.load_id``).
Three rows, so the diagram fits a 1,280-px screen (side by side the groups were 1,744 px
wide): the staging tables; the star schema (the fact table, the one with the most
foreign keys, in the middle; its dimensions on both sides, dimensions that reference each
other kept on one side); the load ledger, ``loads`` under the fact that references it.
The SVG scales down with its viewBox where the page is narrower still. Text is monospace,
so box widths can be computed from character counts; the SVG needs no script and no font
or file from anywhere else.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from sparkify_dw.models import LOAD_ERRORS, LOAD_FILES, LOADS, STAGING_TABLES, STAR_TABLES

FONT = 12  # px, monospace
CHAR = 7.4  # px per character at FONT (DejaVu Sans Mono is 0.6 em; a little spare)
ROW = 18
HEADER = 26
PAD = 10
GAP_X = 90  # between columns of boxes: room for the arrows
GAP_Y = 28
KEYS = 6  # characters for the key marks: PK, FK or PK FK, and a space
GROUP_PAD = 18
GROUP_LABEL = 22
ROW_GAP = 24  # between the rows' group frames
LEDGER_GAP = 70  # between ledger boxes: room for an arrow looping round ``loads``
COLORS = {"staging": "#5b7083", "fact": "#c0622d", "dimension": "#2f7d4f", "ledger": "#6b4f9c"}
# References the models can't declare as foreign keys: (table, column, table, column).
# songplays.load_id has none because DuckDB can't add one to a populated table (models).
UNDECLARED = (("songplays", "load_id", "loads", "load_id"),)


@dataclass
class Box:
    """A table's box: position, size and the y of each column's row (absolute)."""

    table: sa.Table
    kind: str
    x: float = 0.0
    y: float = 0.0

    @property
    def width(self) -> float:
        names = max(len(c.name) for c in self.table.columns)
        types = max(len(_type(c)) for c in self.table.columns)
        return max(len(self.table.name) + 4, KEYS + names + 2 + types) * CHAR + 2 * PAD

    @property
    def height(self) -> float:
        return HEADER + ROW * len(self.table.columns) + PAD / 2

    def row_y(self, column: str) -> float:
        names = [c.name for c in self.table.columns]
        return self.y + HEADER + ROW * names.index(column) + ROW / 2


def _type(column: sa.Column[object]) -> str:
    text = str(column.type.compile())
    return text.replace("TIMESTAMP WITHOUT TIME ZONE", "TIMESTAMP")


def _key(column: sa.Column[object]) -> str:
    return " ".join(k for k, on in (("PK", column.primary_key), ("FK", column.foreign_keys)) if on)


def _stack(boxes: Sequence[Box], x: float, y: float) -> float:
    """Place boxes one under the other from (x, y); the bottom y."""
    for box in boxes:
        box.x, box.y = x, y
        y += box.height + GAP_Y
    return y - GAP_Y


def _references(table: sa.Table) -> set[str]:
    return {fk.column.table.name for fk in table.foreign_keys}


def _star_sides(dimensions: list[Box]) -> tuple[list[Box], list[Box]]:
    """Dimensions split into two columns of similar height; dimensions linked by a foreign
    key stay together (referenced one below), so their arrow doesn't cross the fact."""
    groups: list[list[Box]] = []
    for box in dimensions:
        linked = [
            g
            for g in groups
            if any(
                box.table.name in _references(o.table) or o.table.name in _references(box.table)
                for o in g
            )
        ]
        merged = [box] + [b for g in linked for b in g]
        groups = [g for g in groups if g not in linked] + [merged]
    left: list[Box] = []
    right: list[Box] = []
    for group in sorted(groups, key=lambda g: -sum(b.height for b in g)):
        # Referencing tables above the tables they reference.
        group.sort(key=lambda b: -len(_references(b.table)))
        side = left if sum(b.height for b in left) <= sum(b.height for b in right) else right
        side.extend(group)
    return left, right


def _side_by_side(boxes: Sequence[Box], x: float, y: float, gap: float) -> float:
    """Place boxes left to right from (x, y); the right edge."""
    for box in boxes:
        box.x, box.y = x, y
        x += box.width + gap
    return x - gap


def _shift(boxes: Sequence[Box], dx: float) -> None:
    for box in boxes:
        box.x += dx


def layout() -> list[Box]:
    """Every model table's box, positioned: staging, star schema and ledger in rows."""
    staging = [Box(t, "staging") for t in STAGING_TABLES]
    fact_table = max(STAR_TABLES, key=lambda t: (len(t.foreign_keys), t.name))
    fact = Box(fact_table, "fact")
    left, right = _star_sides([Box(t, "dimension") for t in STAR_TABLES if t is not fact_table])
    # loads in the middle, under the fact: every ledger arrow is short and crosses no box.
    ledger = [Box(t, "ledger") for t in (LOAD_FILES, LOADS, LOAD_ERRORS)]
    frame = 2 * GROUP_PAD + GROUP_LABEL + ROW_GAP  # a row's frame, above and below its boxes

    top: float = GROUP_PAD + GROUP_LABEL
    _side_by_side(staging, 0, top, GAP_X / 2)
    top = max(b.y + b.height for b in staging) + frame

    x = max(b.width for b in left) + GAP_X
    _stack(left, 0, top)
    star_height = max(sum(b.height + GAP_Y for b in side) - GAP_Y for side in (left, right))
    _stack([fact], x, top + max(0.0, (star_height - fact.height) / 2))
    x += fact.width + GAP_X
    _stack(right, x, top)
    star = [*left, fact, *right]
    top = max(b.y + b.height for b in star) + frame

    _side_by_side(ledger, 0, top, LEDGER_GAP)
    _shift(ledger, fact.x - ledger[1].x)  # loads under the fact

    below = [*star, *ledger]
    _shift(below, GROUP_PAD - min(b.x for b in below))
    width = max(b.x + b.width for b in below)
    staged = max(b.x + b.width for b in staging)
    _shift(staging, max(GROUP_PAD, (width + GROUP_PAD - staged) / 2))  # centred above
    return [*staging, *star, *ledger]


def _edge(child: Box, column: str, parent: Box, ref: str) -> str:
    """A cubic Bézier path from the child's column row to the parent's key row."""
    y1, y2 = child.row_y(column), parent.row_y(ref)
    if parent.x + parent.width < child.x:  # parent on the left
        x1, x2, d = child.x, parent.x + parent.width, -1
    elif child.x + child.width < parent.x:  # parent on the right
        x1, x2, d = child.x + child.width, parent.x, 1
    else:  # same column: loop out on the right
        x1, x2 = child.x + child.width, parent.x + parent.width
        bend = max(x1, x2) + 40
        return f"M{x1:.1f},{y1:.1f} C{bend:.1f},{y1:.1f} {bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    mid = abs(x2 - x1) / 2
    return (
        f"M{x1:.1f},{y1:.1f} C{x1 + d * mid:.1f},{y1:.1f} {x2 - d * mid:.1f},{y2:.1f} "
        f"{x2:.1f},{y2:.1f}"
    )


def _group_frame(svg: ET.Element, boxes: Sequence[Box], label: str) -> None:
    x0 = min(b.x for b in boxes) - GROUP_PAD
    y0 = min(b.y for b in boxes) - GROUP_PAD - GROUP_LABEL
    x1 = max(b.x + b.width for b in boxes) + GROUP_PAD
    y1 = max(b.y + b.height for b in boxes) + GROUP_PAD
    ET.SubElement(
        svg,
        "rect",
        x=f"{x0:.1f}",
        y=f"{y0:.1f}",
        width=f"{x1 - x0:.1f}",
        height=f"{y1 - y0:.1f}",
        rx="8",
        fill="#f6f7f9",
        stroke="#d5d9de",
    )
    text = ET.SubElement(
        svg,
        "text",
        x=f"{x0 + 10:.1f}",
        y=f"{y0 + 17:.1f}",
        fill="#44505c",
        attrib={"font-weight": "bold"},
    )
    text.text = label


def _box(svg: ET.Element, box: Box, href: str) -> None:
    link = ET.SubElement(svg, "a", href=href, attrib={"class": "table"})
    ET.SubElement(link, "title").text = box.table.comment or box.table.name
    color = COLORS[box.kind]
    ET.SubElement(
        link,
        "rect",
        x=f"{box.x:.1f}",
        y=f"{box.y:.1f}",
        width=f"{box.width:.1f}",
        height=f"{box.height:.1f}",
        rx="4",
        fill="#ffffff",
        stroke=color,
        attrib={"stroke-width": "1.5"},
    )
    ET.SubElement(
        link,
        "rect",
        x=f"{box.x:.1f}",
        y=f"{box.y:.1f}",
        width=f"{box.width:.1f}",
        height=f"{HEADER}",
        rx="4",
        fill=color,
    )
    head = ET.SubElement(
        link,
        "text",
        x=f"{box.x + PAD:.1f}",
        y=f"{box.y + 18:.1f}",
        fill="#ffffff",
        attrib={"font-weight": "bold"},
    )
    head.text = box.table.name
    names = max(len(c.name) for c in box.table.columns)
    for column in box.table.columns:
        y = f"{box.row_y(column.name) + 4:.1f}"
        row = ET.SubElement(link, "g")
        ET.SubElement(row, "title").text = f"{column.name}: {column.comment or ''}"
        ET.SubElement(
            row, "text", x=f"{box.x + PAD:.1f}", y=y, fill=color, attrib={"font-weight": "bold"}
        ).text = _key(column)
        ET.SubElement(
            row, "text", x=f"{box.x + PAD + KEYS * CHAR:.1f}", y=y, fill="#1d2630"
        ).text = column.name
        ET.SubElement(
            row, "text", x=f"{box.x + PAD + (KEYS + 2 + names) * CHAR:.1f}", y=y, fill="#6a737d"
        ).text = _type(column)


def svg(href: str = "tables/{name}.html", staging: str | None = None) -> str:
    """The diagram as a standalone SVG document; each box links to ``href`` (``{name}``
    is the table's name); the staging group says how the staging tables are filled
    (``staging``: the warehouse's engine says, ``EngineInfo.staging``)."""
    boxes = layout()
    width = max(b.x + b.width for b in boxes) + GROUP_PAD + 30
    height = max(b.y + b.height for b in boxes) + GROUP_PAD + 10
    root = ET.Element(
        "svg",
        xmlns="http://www.w3.org/2000/svg",
        width=f"{width:.0f}",
        height=f"{height:.0f}",
        viewBox=f"0 0 {width:.0f} {height:.0f}",
        role="img",
        attrib={
            "font-family": "DejaVu Sans Mono, Menlo, Consolas, monospace",
            "font-size": str(FONT),
        },
    )
    ET.SubElement(root, "title").text = "Sparkify warehouse: entity-relationship diagram"
    defs = ET.SubElement(root, "defs")
    marker = ET.SubElement(
        defs,
        "marker",
        id="arrow",
        viewBox="0 0 10 10",
        refX="10",
        refY="5",
        markerWidth="8",
        markerHeight="8",
        orient="auto",
    )
    ET.SubElement(marker, "path", d="M0,0 L10,5 L0,10 z", fill="#44505c")
    by_kind = {kind: [b for b in boxes if b.kind == kind] for kind in COLORS}
    _group_frame(root, by_kind["staging"], f"staging ({staging})" if staging else "staging")
    _group_frame(root, by_kind["dimension"] + by_kind["fact"], "star schema")
    _group_frame(root, by_kind["ledger"], "load ledger")
    by_name = {b.table.name: b for b in boxes}
    edges = ET.SubElement(
        root,
        "g",
        fill="none",
        stroke="#44505c",
        attrib={"stroke-width": "1.3", "class": "foreign-keys"},
    )
    for box in boxes:
        for fk in sorted(box.table.foreign_keys, key=lambda f: f.parent.name):
            parent = by_name[fk.column.table.name]
            path = ET.SubElement(
                edges,
                "path",
                d=_edge(box, fk.parent.name, parent, fk.column.name),
                attrib={"marker-end": "url(#arrow)"},
            )
            ET.SubElement(
                path, "title"
            ).text = f"{box.table.name}.{fk.parent.name} -> {parent.table.name}.{fk.column.name}"
    undeclared = ET.SubElement(
        root,
        "g",
        fill="none",
        stroke="#44505c",
        attrib={"stroke-width": "1.3", "stroke-dasharray": "5 4", "class": "undeclared"},
    )
    for table, column, referenced, key in UNDECLARED:
        child, parent = by_name[table], by_name[referenced]
        assert column in child.table.c and key in parent.table.c, (table, column)
        path = ET.SubElement(
            undeclared,
            "path",
            d=_edge(child, column, parent, key),
            attrib={"marker-end": "url(#arrow)"},
        )
        ET.SubElement(
            path, "title"
        ).text = f"{table}.{column} -> {referenced}.{key} (not a declared foreign key)"
    for box in boxes:
        _box(root, box, href.format(name=box.table.name))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")
