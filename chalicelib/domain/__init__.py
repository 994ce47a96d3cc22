"""Plain-Python domain: money, certificates, periods, the ledger. No boto3, no chalice."""
