"""What a statement needs besides the ledger: the contracts its entries name, and their providers' names."""

from __future__ import annotations

from chalicelib.domain.contract import Contract
from chalicelib.storage import contracts, providers


def contracts_and_providers(contract_ids: set[str]) -> tuple[dict[str, Contract], dict[str, str]]:
    """Two BatchGetItem rounds (contracts, then their providers' names), however many entries name them."""
    if not contract_ids:
        return {}, {}
    found = contracts.batch(contract_ids)
    return found, providers.names({c.provider_id for c in found.values()})
