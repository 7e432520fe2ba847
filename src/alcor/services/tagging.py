"""Tags on any resource (``standard-attr-tag``). A tag change is a change of the resource: it
bumps the resource's revision and goes through the change log like any other update."""

from __future__ import annotations

from collections.abc import Callable

from alcor.model import errors
from alcor.model.records import Record
from alcor.services import resources
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer

TagChange = Callable[[list[str]], list[str]]

MAX_TAGS = 50
MAX_TAG_LENGTH = 255


def check_tags(tags: list[str]) -> list[str]:
    for tag in tags:
        if not tag or len(tag) > MAX_TAG_LENGTH or "," in tag:
            raise errors.InvalidInput(
                f"Invalid input for tags. Reason: '{tag}' is not a valid tag."
            )
    unique = sorted(set(tags))
    if len(unique) > MAX_TAGS:
        raise errors.InvalidInput(f"Invalid input for tags. Reason: at most {MAX_TAGS} tags.")
    return unique


class Tagging:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def show(self, caller: Caller, kind: type[Record], resource_id: str) -> list[str]:
        def work(reader: Reader) -> list[str]:
            resources.find(reader, caller, kind, resource_id)
            return reader.tags_of([resource_id]).get(resource_id, [])

        return await self.context.store.read(work)

    async def replace(
        self, caller: Caller, kind: type[Record], resource_id: str, tags: list[str]
    ) -> list[str]:
        wanted = check_tags(tags)
        return await self._change(caller, kind, resource_id, lambda _current: wanted)

    async def add(self, caller: Caller, kind: type[Record], resource_id: str, tag: str) -> None:
        check_tags([tag])
        await self._change(caller, kind, resource_id, lambda current: check_tags([*current, tag]))

    async def remove(self, caller: Caller, kind: type[Record], resource_id: str, tag: str) -> None:
        def without(current: list[str]) -> list[str]:
            if tag not in current:
                raise errors.NotFound(
                    f"Tag {tag} could not be found for {kind.kind} {resource_id}.",
                    type="TagNotFound",
                )
            return [t for t in current if t != tag]

        await self._change(caller, kind, resource_id, without)

    async def _change(
        self, caller: Caller, kind: type[Record], resource_id: str, new_tags: TagChange
    ) -> list[str]:
        def work(writer: Writer) -> list[str]:
            record = resources.owned(writer, caller, kind, resource_id)
            current = writer.tags_of([resource_id]).get(resource_id, [])
            tags = new_tags(current)
            if tags != current:
                writer.update([resources.revised(record, self.context.now())])
                writer.set_tags(resource_id, tags)
            return tags

        return await self.context.store.write(work)
