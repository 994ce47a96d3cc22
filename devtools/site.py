"""Publishes the Navigator to a deployed stack: config.json from the stack's outputs, the files into the site bucket,
and a CloudFront invalidation of the two files that are not content-addressed.

    make package                                            # dist/prod/web, with the template and the code
    sam deploy --template-file dist/prod/sam.json --stack-name pfdo-prod ...   (infra/README.md)
    .venv/bin/python -m devtools.site pfdo-prod dist/prod/web

The assets go first (their names carry their hash: cached for a year), then config.json and index.html (never
cached), so a page never names an asset that is not there yet. config.json tells the client the API's Function URL
and the Cognito Hosted UI (domain, the public app client, the site's own URL as the redirect), and the region's
municipalities (web/region.json).
"""

from __future__ import annotations

import json
import mimetypes
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudfront import CloudFrontClient
    from mypy_boto3_s3 import S3Client

ROOT = Path(__file__).resolve().parent.parent
REGION = ROOT / "web" / "region.json"
SCOPES = ["openid", "email", "profile"]
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# Served as they are named: not content-addressed, so CloudFront must forget them on every publication.
ENTRY_FILES = ("index.html", "config.json")
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}


def stack_outputs(cloudformation: CloudFormationClient, stack: str) -> dict[str, str]:
    (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", []) if "OutputValue" in o}


def site_config(outputs: dict[str, str], stage: str) -> dict[str, Any]:
    """The client's config.json for a deployed stage: its API, its sign-in, its region."""
    site = outputs["SiteUrl"]
    return {
        "stage": stage,
        "apiUrl": outputs["FunctionUrl"].rstrip("/"),
        "municipalities": json.loads(REGION.read_text(encoding="utf-8"))["municipalities"],
        "cognito": {
            "domain": outputs["HostedUiDomain"],
            "clientId": outputs["UserPoolClientId"],
            "redirectUri": site,
            "scopes": SCOPES,
        },
    }


def _content_type(path: Path) -> str:
    known = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{known}; charset=utf-8" if known.startswith("text/") else known


def upload(s3: S3Client, bucket: str, folder: Path, config: dict[str, Any]) -> list[str]:
    """Puts the site's files and config.json into ``bucket``; returns the keys in the order they were written."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "config.json")
    assets = [p for p in files if p.relative_to(folder).as_posix() not in ENTRY_FILES]
    written: list[str] = []
    for path in assets:
        key = path.relative_to(folder).as_posix()
        cache = IMMUTABLE if key.startswith("assets/") else NO_CACHE
        s3.put_object(
            Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=_content_type(path), CacheControl=cache
        )
        written.append(key)
    body = json.dumps(config, ensure_ascii=False, indent=1).encode("utf-8")
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=body,
        ContentType="application/json; charset=utf-8",
        CacheControl=NO_CACHE,
    )
    written.append("config.json")
    index = folder / "index.html"
    s3.put_object(
        Bucket=bucket,
        Key="index.html",
        Body=index.read_bytes(),
        ContentType=_content_type(index),
        CacheControl=NO_CACHE,
    )
    written.append("index.html")
    return written


def invalidate(cloudfront: CloudFrontClient, distribution_id: str, reference: str | None = None) -> str:
    """Makes CloudFront fetch the entry files again; returns the invalidation's id."""
    answer = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(ENTRY_FILES) + 1, "Items": ["/", *(f"/{name}" for name in ENTRY_FILES)]},
            "CallerReference": reference or f"navigator-{time.time_ns()}",
        },
    )
    return answer["Invalidation"]["Id"]


def publish(stack: str, folder: Path) -> str:
    if not (folder / "index.html").is_file():
        raise SystemExit(f"{folder}/index.html is missing: run `make package` first")
    outputs = stack_outputs(boto3.client("cloudformation"), stack)
    stage = stack.removeprefix("pfdo-")
    written = upload(boto3.client("s3"), outputs["SiteBucketName"], folder, site_config(outputs, stage))
    invalidation = invalidate(boto3.client("cloudfront"), outputs["SiteDistributionId"])
    return (
        f"{len(written)} files to s3://{outputs['SiteBucketName']}, invalidation {invalidation}: {outputs['SiteUrl']}"
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m devtools.site STACK_NAME dist/STAGE/web", file=sys.stderr)
        return 2
    print(publish(argv[0], Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
