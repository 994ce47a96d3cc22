"""Publishing the Navigator to a deployed stack (devtools/site.py): config.json from the stack's outputs, the files
in the site bucket with the right types and caching (hashed assets for a year, the entry files never), the entry
files written last, and an invalidation of exactly those."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from botocore.stub import Stubber
from moto import mock_aws

from devtools import site

OUTPUTS = {
    "FunctionUrl": "https://abc123.lambda-url.eu-central-1.on.aws/",
    "SiteUrl": "https://d111111abcdef8.cloudfront.net/",
    "HostedUiDomain": "https://pfdo-prod-123456789012.auth.eu-central-1.amazoncognito.com",
    "UserPoolClientId": "4b2mf0client",
    "SiteBucketName": "pfdo-prod-sitebucket-1x2y3z",
    "SiteDistributionId": "E2EXAMPLE",
}


def a_build(folder: Path) -> Path:
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text('<script type="module" src="/assets/app-ABC.js"></script>')
    (folder / "assets" / "app-ABC.js").write_text("console.log(1)")
    (folder / "assets" / "style-DEF.css").write_text("body{}")
    (folder / "favicon.svg").write_text("<svg/>")
    return folder


def test_config_names_the_function_url_the_hosted_ui_and_the_site_as_the_redirect() -> None:
    config = site.site_config(OUTPUTS, "prod")
    assert config["apiUrl"] == "https://abc123.lambda-url.eu-central-1.on.aws"
    assert config["cognito"] == {
        "domain": OUTPUTS["HostedUiDomain"],
        "clientId": "4b2mf0client",
        "redirectUri": OUTPUTS["SiteUrl"],
        "scopes": ["openid", "email", "profile"],
    }
    assert "people" not in config  # the demo sign-in exists only locally
    assert config["municipalities"]["elizovo"] == "Елизовский район"


def test_the_files_go_to_the_bucket_with_types_and_caching_and_the_entry_files_last(tmp_path: Path) -> None:
    folder = a_build(tmp_path / "web")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-central-1")
        bucket = OUTPUTS["SiteBucketName"]
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        written = site.upload(s3, bucket, folder, site.site_config(OUTPUTS, "prod"))
        assert written[-2:] == ["config.json", "index.html"]
        assert set(written) == {"assets/app-ABC.js", "assets/style-DEF.css", "favicon.svg", "config.json", "index.html"}
        heads = {key: s3.head_object(Bucket=bucket, Key=key) for key in written}
        assert heads["assets/app-ABC.js"]["ContentType"] == "text/javascript; charset=utf-8"
        assert heads["assets/style-DEF.css"]["CacheControl"] == site.IMMUTABLE
        assert heads["index.html"]["CacheControl"] == heads["config.json"]["CacheControl"] == "no-cache"
        assert heads["favicon.svg"]["ContentType"] == "image/svg+xml"
        config = json.loads(s3.get_object(Bucket=bucket, Key="config.json")["Body"].read())
        assert config["apiUrl"].startswith("https://") and config["cognito"]["clientId"] == "4b2mf0client"


def test_the_invalidation_names_the_entry_files_only() -> None:
    cloudfront = boto3.client("cloudfront", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(cloudfront) as stub:
        stub.add_response(
            "create_invalidation",
            {
                "Invalidation": {
                    "Id": "I1",
                    "Status": "InProgress",
                    "CreateTime": "2026-01-01T00:00:00Z",
                    "InvalidationBatch": {"Paths": {"Quantity": 0}, "CallerReference": "r"},
                }
            },
            {
                "DistributionId": "E2EXAMPLE",
                "InvalidationBatch": {
                    "Paths": {"Quantity": 3, "Items": ["/", "/index.html", "/config.json"]},
                    "CallerReference": "r",
                },
            },
        )
        assert site.invalidate(cloudfront, "E2EXAMPLE", reference="r") == "I1"
