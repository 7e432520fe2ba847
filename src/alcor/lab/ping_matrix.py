"""All-pairs ping results as a table: a row per sender, a column per receiver.

from \\ to          a1 10.0.1.11  a2 10.0.1.12  b1 10.0.2.11
                    on h1         on h2         on h1
a1 10.0.1.11 on h1  -             ok            ok
a2 10.0.1.12 on h2  ok            -             NO ANSWER
...
5/6 pairs answered; no answer: a2 -> b1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

CORNER = "from \\ to"
GAP = "  "


@dataclass(frozen=True)
class Member:
    name: str
    ip: str
    host: str


def render(members: Sequence[Member], answered: Mapping[tuple[str, str], bool]) -> str:
    """The table and a summary line. ``answered`` maps (from name, to name) to whether it was
    answered; a pair it lacks was not tried (``?``)."""
    rows = [f"{m.name} {m.ip} on {m.host}" for m in members]
    header = [f"{m.name} {m.ip}" for m in members]
    under = [f"on {m.host}" for m in members]
    cells = [[_cell(answered, src.name, dst.name) for dst in members] for src in members]
    first = max(len(CORNER), *(len(row) for row in rows)) if rows else len(CORNER)
    widths = [
        max(len(header[i]), len(under[i]), *(len(line[i]) for line in cells))
        for i in range(len(members))
    ]

    def line(label: str, values: Sequence[str]) -> str:
        padded = [value.ljust(width) for value, width in zip(values, widths, strict=True)]
        return GAP.join([label.ljust(first), *padded]).rstrip()

    table = [line(CORNER, header), line("", under)]
    table += [line(row, values) for row, values in zip(rows, cells, strict=True)]
    return "\n".join([*table, _summary(members, answered)])


def _cell(answered: Mapping[tuple[str, str], bool], src: str, dst: str) -> str:
    if src == dst:
        return "-"
    if (src, dst) not in answered:
        return "?"
    return "ok" if answered[(src, dst)] else "NO ANSWER"


def _summary(members: Sequence[Member], answered: Mapping[tuple[str, str], bool]) -> str:
    pairs = [(s.name, d.name) for s in members for d in members if s != d]
    good = [pair for pair in pairs if answered.get(pair)]
    text = f"{len(good)}/{len(pairs)} pairs answered"
    lost = [f"{src} -> {dst}" for src, dst in pairs if pair_lost(answered, src, dst)]
    return text + (f"; no answer: {', '.join(lost)}" if lost else "")


def pair_lost(answered: Mapping[tuple[str, str], bool], src: str, dst: str) -> bool:
    return (src, dst) in answered and not answered[(src, dst)]
