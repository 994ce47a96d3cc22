"""Who is asking: the caller's role and scope, and the access rules that follow from them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from chalicelib.domain import errors

# The municipality claim of a regional operator: they act for every municipality of the region.
WHOLE_REGION = "*"


class Role(str, enum.Enum):
    PARENT = "parent"
    PROVIDER = "provider"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    sub: str
    role: Role
    municipality: str | None = None
    provider_id: str | None = None

    @property
    def is_regional_operator(self) -> bool:
        return self.role is Role.OPERATOR and self.municipality == WHOLE_REGION

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise errors.Forbidden(f"this needs the role {' or '.join(r.value for r in roles)}")

    def require_regional_operator(self) -> None:
        self.require(Role.OPERATOR)
        if not self.is_regional_operator:
            raise errors.Forbidden("only a regional operator may do this")

    def operates_in(self, municipality: str) -> bool:
        return self.role is Role.OPERATOR and self.municipality in (WHOLE_REGION, municipality)


SYSTEM = Principal(sub="system:topup", role=Role.OPERATOR, municipality=WHOLE_REGION)
