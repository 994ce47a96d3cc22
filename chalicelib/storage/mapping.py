"""One mapper per aggregate: the copy between a domain entity (a frozen dataclass) and its PynamoDB model.

The copy is derived from the entity's fields, not written out: a field is stored under the attribute of the same
name, as it is, unless the mapper names a ``Conversion`` for it (only where the two types differ: an enum stored as
its value, a date as ISO text, a map of values) or ``Spread``s it over several attributes (a nested value such as a
balance). Attributes the entity does not hold (keys and sparse index keys that follow from it, such as a program's
catalog keys) are ``derived`` from the entity when it is written, and never read back.

A mapper checks when it is made that every field of the entity has an attribute and every attribute of the model
has a field, a spread or a derivation: a field added to one side and forgotten on the other fails at import, and the
round trip of every aggregate with every field set is tested (tests/unit/test_mappers.py).

A DynamoDB image (the old item of a refused transaction, a stream record) is read with the model's own
deserialisation (``Model.from_raw_data``) and then the same mapper: never attribute by attribute.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Generic, TypeVar

from pynamodb.attributes import MapAttribute
from pynamodb.models import Model

E = TypeVar("E")
R = TypeVar("R", bound=Model)
_MISSING = dataclasses.MISSING


@dataclasses.dataclass(frozen=True)
class Conversion:
    """How a field is stored when its type differs from its attribute's: ``stored`` writes, ``read`` reads.
    ``None`` passes through both ways (an optional field whose attribute is absent)."""

    stored: Callable[[Any], Any]
    read: Callable[[Any], Any]

    def to_attribute(self, value: Any) -> Any:
        return None if value is None else self.stored(value)

    def to_field(self, value: Any) -> Any:
        return None if value is None else self.read(value)


def plain(value: Any) -> Any:
    """A raw map attribute as a plain dict (PynamoDB reads one as a ``MapAttribute``)."""
    return value.as_dict() if isinstance(value, MapAttribute) else value


def enum_of(kind: type[enum.Enum]) -> Conversion:
    """An enum stored as its value."""
    return Conversion(lambda member: member.value, kind)


ISO_DATE = Conversion(date.isoformat, date.fromisoformat)
JSON_TEXT = Conversion(json.dumps, json.loads)


def map_of(value: Conversion | None = None) -> Conversion:
    """A dict stored as a map attribute, each value converted by ``value`` (numbers read back as ``int``)."""
    convert = value or Conversion(int, int)
    return Conversion(
        lambda entries: {key: convert.stored(item) for key, item in entries.items()},
        lambda stored: {key: convert.read(item) for key, item in plain(stored).items()},
    )


def list_of(value: Conversion | None = None) -> Conversion:
    """A list (or tuple) stored as a list attribute; read back as a list."""
    return Conversion(
        lambda items: [value.stored(item) if value else item for item in items],
        lambda stored: [value.read(item) if value else item for item in stored],
    )


@dataclasses.dataclass(frozen=True)
class Spread:
    """A nested value (a dataclass) stored as top-level attributes: its field -> the attribute that holds it."""

    kind: type[Any]
    attributes: Mapping[str, str]

    def to_attributes(self, value: Any) -> dict[str, Any]:
        return {attribute: getattr(value, name) for name, attribute in self.attributes.items()}

    def to_field(self, record: Model) -> Any:
        found = {name: getattr(record, attribute) for name, attribute in self.attributes.items()}
        return self.kind(**{name: value for name, value in found.items() if value is not None})


class MappingError(TypeError):
    """An entity and its model do not match: a field or an attribute would be lost."""


class Mapper(Generic[E, R]):
    """The copy between entity ``E`` and model ``R`` (see the module's docstring)."""

    def __init__(
        self,
        entity: type[E],
        model: type[R],
        *,
        convert: Mapping[str, Conversion] | None = None,
        spread: Mapping[str, Spread] | None = None,
        derived: Mapping[str, Callable[[E], Any]] | None = None,
    ) -> None:
        self.entity = entity
        self.model = model
        self.convert = dict(convert or {})
        self.spread = dict(spread or {})
        self.derived = dict(derived or {})
        self.fields = {f.name: f for f in dataclasses.fields(entity)}  # type: ignore[arg-type]
        self._check()

    def _check(self) -> None:
        attributes = set(self.model.get_attributes())
        spread_into = {attribute for s in self.spread.values() for attribute in s.attributes.values()}
        direct = set(self.fields) - set(self.spread)
        problems = [f"field {name!r} has no attribute" for name in sorted(direct - attributes)]
        problems += [f"spread field {name!r} is not a field" for name in sorted(set(self.spread) - set(self.fields))]
        problems += [f"converted {name!r} is not a field" for name in sorted(set(self.convert) - set(self.fields))]
        covered = direct | spread_into | set(self.derived)
        problems += [f"attribute {name!r} is not mapped" for name in sorted(attributes - covered)]
        problems += [f"{name!r} is both a field and derived" for name in sorted(set(self.derived) & direct)]
        if problems:
            raise MappingError(f"{self.entity.__name__} <-> {self.model.__name__}: " + "; ".join(problems))

    # --- writing -----------------------------------------------------------------------------------------------------

    def attributes(self, entity: E) -> dict[str, Any]:
        """The model's attribute values for ``entity`` (the derived ones included; None where absent)."""
        values: dict[str, Any] = {}
        for name in self.fields:
            value = getattr(entity, name)
            if name in self.spread:
                values.update(self.spread[name].to_attributes(value))
            elif name in self.convert:
                values[name] = self.convert[name].to_attribute(value)
            else:
                values[name] = value
        for name, derive in self.derived.items():
            values[name] = derive(entity)
        return values

    def record(self, entity: E) -> R:
        """The item to write."""
        return self.model(**{name: value for name, value in self.attributes(entity).items() if value is not None})

    # --- reading -----------------------------------------------------------------------------------------------------

    def to_entity(self, record: R) -> E:
        """The entity of an item as read (an attribute the item lacks takes the field's default)."""
        values: dict[str, Any] = {}
        for name, spec in self.fields.items():
            if name in self.spread:
                values[name] = self.spread[name].to_field(record)
                continue
            value = plain(getattr(record, name, None))
            if value is None:
                if spec.default is not _MISSING:
                    value = spec.default
                elif spec.default_factory is not _MISSING:
                    value = spec.default_factory()
            elif name in self.convert:
                value = self.convert[name].to_field(value)
            values[name] = value
        return self.entity(**values)

    def from_image(self, image: Mapping[str, Any]) -> E:
        """The entity of a DynamoDB image (``{"name": {"S": ...}}``), read by the model's own deserialisation."""
        return self.to_entity(self.model.from_raw_data(dict(image)))
