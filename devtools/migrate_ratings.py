"""One-off migration of a stage's ratings (issue 14): from the old ``ratings`` table, keyed by program and contract,
to ``program_ratings``, keyed by time, with a marker per contract (storage.ratings). The old table is retained by
CloudFormation (DeletionPolicy Retain) when the template no longer has it; delete it by hand once this has run.

    python -m devtools.migrate_ratings pfdo-prod-

Safe to run again: a contract whose marker exists is skipped. A Scan is fine here: an operator's one-off job, never a
request path.
"""

from __future__ import annotations

import secrets
import sys

import boto3

from chalicelib.storage import ratings
from chalicelib.storage.models import bind_tables


def migrate(prefix: str, old_table: str = "ratings") -> tuple[int, int]:
    """Copies every old rating; returns (copied, skipped)."""
    bind_tables(prefix)
    client = boto3.client("dynamodb")
    copied = skipped = 0
    for page in client.get_paginator("scan").paginate(TableName=f"{prefix}{old_table}", ConsistentRead=True):
        for item in page.get("Items", []):
            if ratings.migrate_legacy(item, secrets.token_hex(8)):
                copied += 1
            else:
                skipped += 1
    return copied, skipped


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m devtools.migrate_ratings TABLE_PREFIX")
    done, left = migrate(sys.argv[1])
    print(f"copied {done}, skipped {left} (already there)")
