"""The ids that money moves between, as their own types: a function that takes a certificate, a contract, a period
and a provider cannot be handed one for another (``mypy`` refuses the swap; at run time they are plain ``str``).

Made where an id is born or checked (``new_certificate_number``, ``require_certificate_number``, ``new_contract_id``,
``certificate_of``) or read back from storage (the mappers), and carried by the entities and the movement plans.
"""

from __future__ import annotations

from typing import NewType

CertificateId = NewType("CertificateId", str)  # 10 digits, the last a check digit (domain.certificate)
ContractId = NewType("ContractId", str)  # "{certificate}-{12 hex}" (domain.contract)
PeriodId = NewType("PeriodId", str)  # e.g. "2027" (domain.period)
ProviderId = NewType("ProviderId", str)  # the provider's ИНН (domain.provider)
