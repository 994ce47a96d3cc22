"""What a statement needs besides the ledger: the contracts its entries name, with their providers' names."""

from __future__ import annotations

from chalicelib.domain.statement import ContractInfo
from chalicelib.storage.models import ContractRecord, ProviderRecord


def contract_infos(contract_ids: set[str]) -> dict[str, ContractInfo]:
    """Two BatchGetItem rounds (contracts, then their providers), however many entries name them."""
    if not contract_ids:
        return {}
    contracts = list(ContractRecord.batch_get(sorted(contract_ids), attributes_to_get=_CONTRACT_ATTRIBUTES))
    provider_ids = sorted({c.provider_id for c in contracts})
    providers = ProviderRecord.batch_get(provider_ids, attributes_to_get=_PROVIDER_ATTRIBUTES)
    names = {p.provider_id: p.name for p in providers}
    return {
        c.contract_id: ContractInfo(
            contract_id=c.contract_id,
            provider_id=c.provider_id,
            provider_name=names.get(c.provider_id, c.provider_id),
            program_id=c.program_id,
            program_title=c.program_title,
        )
        for c in contracts
    }


_CONTRACT_ATTRIBUTES = ["contract_id", "provider_id", "program_id", "program_title"]
_PROVIDER_ATTRIBUTES = ["provider_id", "name"]
