"""Records to rows and back. Nested attributes are stored as JSON text that the store encodes
and decodes itself with typed msgspec decoders: a row becomes a record in one pass, with no
generic JSON step and no per-value conversion in between. The same text works on every dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import msgspec
import sqlalchemy as sa

from alcor.model.records import Record

R = TypeVar("R", bound=Record)

_encoder = msgspec.json.Encoder()


def document(value: object) -> str:
    """A value as the JSON text stored in a document column."""
    return _encoder.encode(value).decode()


class RowCodec(Generic[R]):
    def __init__(self, kind: type[R], table: sa.Table) -> None:
        self.kind = kind
        self.names = list(table.c.keys())
        types = {field.name: field.type for field in msgspec.structs.fields(kind)}
        self.documents = {
            name: msgspec.json.Decoder(types[name])
            for name in self.names
            if isinstance(table.c[name].type, sa.Text)
        }
        # A raw DB-API row holds SQLite's 0/1 where the record wants a bool.
        self.booleans = [n for n in self.names if isinstance(table.c[n].type, sa.Boolean)]

    def to_row(self, record: Record) -> dict[str, Any]:
        row = msgspec.structs.asdict(record)
        for name in self.documents:
            row[name] = document(row[name])
        return row

    def from_row(self, row: Sequence[Any]) -> R:
        values = dict(zip(self.names, row, strict=True))
        for name in self.booleans:
            values[name] = bool(values[name])
        for name, decoder in self.documents.items():
            value = values[name]
            values[name] = (
                decoder.decode(value)
                if isinstance(value, str)
                else msgspec.convert(value, decoder.type)  # a driver that parsed JSON itself
            )
        return self.kind(**values)
