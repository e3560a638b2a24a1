"""One manager message: the ordered ``Key: Value`` block that AMI sends both ways.

Keys keep their order, their spelling and their duplicates (several ``Variable:`` lines in an
Originate, several ``ChanVariable:`` lines in an event); lookup ignores key case, as Asterisk's
own ``astman_get_header`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import overload

CRLF = "\r\n"


class Message:
    """An immutable, ordered multi-map of AMI fields."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Iterable[tuple[str, object]] = ()):
        self._fields: tuple[tuple[str, str], ...] = tuple((str(k), _text(v)) for k, v in fields)

    @classmethod
    def action(cls, name: str, fields: Iterable[tuple[str, object]] = ()) -> Message:
        """An action request: ``Action: <name>`` first, then the given fields in order."""
        return cls((("Action", name), *fields))

    @property
    def fields(self) -> tuple[tuple[str, str], ...]:
        return self._fields

    @overload
    def get(self, key: str) -> str | None: ...

    @overload
    def get(self, key: str, default: str) -> str: ...

    @overload
    def get(self, key: str, default: str | None) -> str | None: ...

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (any case), or ``default``."""
        folded = key.lower()
        for k, v in self._fields:
            if k.lower() == folded:
                return v
        return default

    def getall(self, key: str) -> list[str]:
        """Every value of ``key`` (any case), in order."""
        folded = key.lower()
        return [v for k, v in self._fields if k.lower() == folded]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and self._fields == other._fields

    def __hash__(self) -> int:
        return hash(self._fields)

    def __repr__(self) -> str:
        return f"Message({list(self._fields)!r})"

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def response(self) -> str | None:
        return self.get("Response")

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def with_fields(self, *fields: tuple[str, object]) -> Message:
        """A copy with ``fields`` appended."""
        return Message((*self._fields, *fields))

    def replace(self, key: str, value: object) -> Message:
        """A copy where every ``key`` field (any case) has ``value``, keeping its position."""
        folded = key.lower()
        return Message((k, _text(value) if k.lower() == folded else v) for k, v in self._fields)

    def to_bytes(self) -> bytes:
        """Wire form: each field on its own ``\\r\\n`` line, then a blank line."""
        return "".join(f"{k}: {v}{CRLF}" for k, v in self._fields).encode("utf-8") + b"\r\n"


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if "\r" in text or "\n" in text:
        # A line break inside a value would let one field forge others (header injection).
        raise ValueError(f"AMI field value contains a line break: {text!r}")
    return text
