"""Read a written tear sheet back the way a reader sees it: its tables (headed by the title
above them) and its visible text, with the standard library's HTML parser, independent of the
regular expressions that wrote the page."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

SKIPPED = {"style", "script", "svg", "title"}


@dataclass
class Table:
    title: str
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # body rows, separators left out

    def row(self, label: str) -> list[str]:
        for r in self.rows:
            if r[0] == label:
                return r
        raise KeyError(label)

    def column(self, name: str) -> int:
        return self.header.index(name)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[Table] = []
        self.text: list[str] = []
        self._skip = 0
        self._heading = ""
        self._in_heading = False
        self._table: Table | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._spanning = False
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self._skip += 1
        elif tag in {"h2", "h3"}:
            self._in_heading, self._heading = True, ""
        elif tag == "table":
            self._table = Table(self._heading.strip())
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row, self._spanning = [], False
        elif tag in {"td", "th"}:
            self._cell = []
            self._spanning = self._spanning or any(k == "colspan" for k, _ in attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self._skip -= 1
        elif tag in {"h2", "h3"}:
            self._in_heading = False
        elif tag in {"td", "th"} and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._in_head:
                self._table.header = self._row
            elif not (self._spanning and self._row in ([""], [])):
                self._table.rows.append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._in_heading:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data)


def read(page: str) -> tuple[list[Table], str]:
    reader = _Reader()
    reader.feed(page)
    return reader.tables, "".join(reader.text)


def table(page: str, title: str) -> Table:
    for t in read(page)[0]:
        if t.title == title:
            return t
    raise KeyError(title)
