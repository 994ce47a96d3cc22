"""Provider documents end to end: a pre-signed POST from the service, a real multipart upload to S3 (moto's server on
a local port; DynamoDB stays on DynamoDB Local), the confirmation that checks, hashes and records the file.

moto 5.1 accepts any POST to the bucket, whatever the signed policy says (too large, another Content-Type, another
key, even a forged signature). Real S3 refuses those at upload; here the confirm step is what refuses them, so these
tests show that it does whichever of the two stopped the file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from chalice.test import Client
from pydantic import SecretStr

from chalicelib.domain import errors
from chalicelib.domain.actors import Principal, Role
from chalicelib.domain.provider import MAX_DOCUMENTS, Document, DocumentKind, document_key
from chalicelib.platform.clock import SettableClock
from chalicelib.platform.config import Settings
from chalicelib.services import providers
from chalicelib.services.context import Context
from chalicelib.storage import documents
from chalicelib.storage import providers as store
from tests.conftest import LOCAL_SECRET
from tests.helpers import documents_bucket, environment, local_s3, table_contents, without_idempotency
from tests.integration.test_http import call, payload, refused, token
from tests.integration.test_providers import BODY_A, INN_A, INN_B, OGRN_B, application, owner

MAX_BYTES = 2048
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server for the session (per xdist worker)."""
    with local_s3() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(table_prefix: str, s3_endpoint: str) -> Iterator[str]:
    """A fresh documents bucket for one test; the service (and the app) pointed at it with a small size limit."""
    with documents_bucket(s3_endpoint, PFDO_DOCUMENT_MAX_BYTES=str(MAX_BYTES)) as name:
        yield name


@pytest.fixture
def docs_ctx(bucket: str, table_prefix: str, clock: SettableClock) -> Context:
    settings = Settings(
        stage="local",
        table_prefix=table_prefix,
        period_cache_seconds=0,
        jwt_secret=SecretStr(LOCAL_SECRET),
        documents_bucket=bucket,
        document_max_bytes=MAX_BYTES,
    )
    return Context.create(settings, clock)


def objects(bucket: str) -> dict[str, int]:
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return {item["Key"]: item["Size"] for item in listing.get("Contents", [])}


def post_file(grant: dict[str, Any], content: bytes, **field_changes: str) -> requests.Response:
    """A browser's multipart POST: the policy's fields, then the file."""
    fields = {**grant["upload"]["fields"], **field_changes}
    content_type = fields.get("Content-Type", "application/octet-stream")
    return requests.post(
        grant["upload"]["url"], data=fields, files={"file": ("scan", content, content_type)}, timeout=30
    )


@pytest.fixture
def people(api: Client, bucket: str) -> dict[str, dict[str, str]]:
    tokens = {
        "a": token(api, role="provider", sub="user-a", provider_id=INN_A),
        "b": token(api, role="provider", sub="user-b", provider_id=INN_B),
        "elizovo": token(api, role="operator", sub="op-e", municipality="elizovo"),
        "milkovo": token(api, role="operator", sub="op-m", municipality="milkovo"),
        "parent": token(api, role="parent", sub="parent-1"),
    }
    assert call(api, "POST", "/providers", BODY_A, tokens["a"]).status_code == 201
    return tokens


def grant_for(api: Client, who: dict[str, str], **body: Any) -> dict[str, Any]:
    request = {"kind": "licence", "content_type": "application/pdf", "size": len(PDF), **body}
    response = call(api, "POST", f"/providers/{INN_A}/documents", request, who)
    assert response.status_code == 201, response.body
    return dict(payload(response))


def confirm_path(document_id: str, provider_id: str = INN_A) -> str:
    return f"/providers/{provider_id}/documents/{document_id}/confirm"


# --- the happy path --------------------------------------------------------------------------------------------------


def test_a_document_goes_up_by_presigned_post_and_is_recorded_with_its_hash(
    api: Client, bucket: str, people: dict[str, dict[str, str]]
) -> None:
    grant = grant_for(api, people["a"])
    assert grant["document_id"].startswith("licence-")
    assert grant["expires_in"] == 900 and grant["max_bytes"] == MAX_BYTES
    assert grant["upload"]["url"].startswith(os.environ["AWS_ENDPOINT_URL_S3"])
    key = document_key(INN_A, grant["document_id"])
    assert grant["upload"]["fields"]["key"] == key
    assert table_contents()["providers"][0]["documents"] == {"M": {}}  # nothing recorded before the confirmation

    uploaded = post_file(grant, PDF)
    assert uploaded.status_code == 204, uploaded.text
    assert objects(bucket) == {key: len(PDF)}

    confirmed = call(api, "POST", confirm_path(grant["document_id"]), None, people["a"])
    assert confirmed.status_code == 200, confirmed.body
    document = payload(confirmed)
    assert document == {
        "document_id": grant["document_id"],
        "kind": "licence",
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "size": len(PDF),
        "content_type": "application/pdf",
        "uploaded_at": document["uploaded_at"],
    }
    view = payload(call(api, "GET", f"/providers/{INN_A}", None, people["elizovo"]))
    assert view["documents"] == [document]
    stored = table_contents()["providers"][0]["documents"]["M"][grant["document_id"]]["M"]
    assert stored["key"] == {"S": key} and stored["sha256"] == {"S": hashlib.sha256(PDF).hexdigest()}


def test_the_upload_policy_fixes_the_key_the_type_and_the_size(api: Client, people: dict[str, dict[str, str]]) -> None:
    """What real S3 enforces at upload: the signed policy admits this key, this Content-Type, 1..max bytes."""
    grant = grant_for(api, people["a"], content_type="image/png", kind="charter", size=100)
    fields = grant["upload"]["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"key": document_key(INN_A, grant["document_id"])} in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, MAX_BYTES] in conditions
    assert {"bucket": os.environ["PFDO_DOCUMENTS_BUCKET"]} in conditions
    assert fields["Content-Type"] == "image/png" and grant["document_id"].startswith("charter-")
    assert "x-amz-signature" in fields and policy["expiration"]


def test_confirming_the_same_document_again_records_it_once(api: Client, people: dict[str, dict[str, str]]) -> None:
    grant = grant_for(api, people["a"], kind="charter", content_type="image/png", size=len(PNG))
    assert post_file(grant, PNG).status_code == 204
    first = payload(call(api, "POST", confirm_path(grant["document_id"]), None, people["a"]))
    again = payload(call(api, "POST", confirm_path(grant["document_id"]), None, people["a"]))
    assert {k: v for k, v in again.items() if k != "uploaded_at"} == {
        k: v for k, v in first.items() if k != "uploaded_at"
    }
    assert [d["kind"] for d in payload(call(api, "GET", f"/providers/{INN_A}", None, people["a"]))["documents"]] == [
        "charter"
    ]


def test_the_operator_downloads_a_recorded_document_by_a_short_lived_link(
    api: Client, people: dict[str, dict[str, str]]
) -> None:
    grant = grant_for(api, people["a"])
    post_file(grant, PDF)
    call(api, "POST", confirm_path(grant["document_id"]), None, people["a"])
    path = f"/providers/{INN_A}/documents/{grant['document_id']}"
    link = payload(call(api, "GET", path, None, people["elizovo"]))
    assert link["sha256"] == hashlib.sha256(PDF).hexdigest() and link["expires_in"] == 300
    assert requests.get(link["url"], timeout=30).content == PDF
    refused(api, 403, "forbidden", "GET", path, None, people["milkovo"])
    refused(api, 403, "forbidden", "GET", path, None, people["b"])
    refused(api, 403, "forbidden", "GET", path, None, people["parent"])
    refused(api, 404, "not_found", "GET", f"/providers/{INN_A}/documents/licence-{'0' * 32}", None, people["a"])


# --- refusals ------------------------------------------------------------------------------------------------------


def refused_everywhere(
    api: Client, bucket: str, status: int, code: str, method: str, path: str, body: Any, who: dict[str, str]
) -> None:
    """Refused with the code; nothing written to the tables or the bucket."""
    before = objects(bucket)
    refused(api, status, code, method, path, body, who)
    assert objects(bucket) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"size": MAX_BYTES + 1}, 422, "document_rejected"),
        ({"size": 10**9}, 422, "document_rejected"),
        ({"size": 0}, 422, "validation_error"),
        ({"size": "100"}, 422, "validation_error"),
        ({"content_type": "text/html"}, 422, "validation_error"),
        ({"content_type": "application/x-msdownload"}, 422, "validation_error"),
        ({"kind": "passport"}, 422, "validation_error"),
        ({"key": "providers/other/x"}, 422, "validation_error"),
    ],
)
def test_a_declared_size_or_type_that_is_not_allowed_is_refused_up_front(
    api: Client, bucket: str, people: dict[str, dict[str, str]], body: dict[str, Any], status: int, code: str
) -> None:
    request = {"kind": "licence", "content_type": "application/pdf", "size": 100, **body}
    refused_everywhere(api, bucket, status, code, "POST", f"/providers/{INN_A}/documents", request, people["a"])


def test_a_file_larger_than_the_limit_is_refused_and_deleted(
    api: Client, bucket: str, people: dict[str, dict[str, str]]
) -> None:
    grant = grant_for(api, people["a"], size=100)  # declares a small file, then sends a large one
    key = document_key(INN_A, grant["document_id"])
    uploaded = post_file(grant, PDF + b"\0" * MAX_BYTES)
    if uploaded.status_code == 204:  # moto took it, against the policy's content-length-range (real S3: 400)
        assert objects(bucket) == {key: len(PDF) + MAX_BYTES}
    else:
        assert uploaded.status_code in (400, 403)
    before = without_idempotency(table_contents())
    response = call(api, "POST", confirm_path(grant["document_id"]), None, people["a"])
    assert response.status_code == 422 and payload(response)["error"]["code"] == "document_rejected"
    assert without_idempotency(table_contents()) == before
    assert objects(bucket) == {}


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"<html><script>alert(1)</script></html>", "text/html"),  # another Content-Type than the policy's
        (b"MZ\x90\x00 an executable", "application/pdf"),  # the policy's Content-Type, but not a PDF
        (PNG, "application/pdf"),  # a PNG sent as a PDF
        (b"", "application/pdf"),  # empty
    ],
)
def test_a_file_of_the_wrong_type_is_refused_and_deleted(
    api: Client, bucket: str, people: dict[str, dict[str, str]], content: bytes, content_type: str
) -> None:
    grant = grant_for(api, people["a"])
    uploaded = post_file(grant, content, **{"Content-Type": content_type})
    assert uploaded.status_code in (204, 400, 403)  # moto: 204 whatever the policy says
    before = without_idempotency(table_contents())
    response = call(api, "POST", confirm_path(grant["document_id"]), None, people["a"])
    assert response.status_code == 422, response.body
    assert payload(response)["error"]["code"] == "document_rejected"
    assert without_idempotency(table_contents()) == before
    assert objects(bucket) == {}


def test_confirming_a_document_that_was_never_uploaded_is_refused(
    api: Client, bucket: str, people: dict[str, dict[str, str]]
) -> None:
    grant = grant_for(api, people["a"])
    refused_everywhere(
        api, bucket, 422, "document_rejected", "POST", confirm_path(grant["document_id"]), None, people["a"]
    )
    # An id this service could never have issued is refused by the edge before anything is read (its path pattern).
    for bad in ("licence", "licence-xyz", f"passport-{'a' * 32}", f"licence-{'a' * 31}"):
        refused_everywhere(api, bucket, 404, "not_found", "POST", confirm_path(bad), None, people["a"])


def test_only_the_providers_own_user_uploads_and_confirms(
    api: Client, bucket: str, people: dict[str, dict[str, str]]
) -> None:
    grant = grant_for(api, people["a"])
    assert post_file(grant, PDF).status_code == 204
    request = {"kind": "licence", "content_type": "application/pdf", "size": 100}
    for who in ("b", "elizovo", "parent"):
        refused_everywhere(api, bucket, 403, "forbidden", "POST", f"/providers/{INN_A}/documents", request, people[who])
        refused_everywhere(api, bucket, 403, "forbidden", "POST", confirm_path(grant["document_id"]), None, people[who])
    # Provider B has not applied: 404 for its own id; A's upload cannot be confirmed under B's id either.
    path = f"/providers/{INN_B}/documents"
    refused_everywhere(api, bucket, 404, "provider_not_found", "POST", path, request, people["b"])
    refused_everywhere(
        api, bucket, 404, "provider_not_found", "POST", confirm_path(grant["document_id"], INN_B), None, people["b"]
    )
    refused_everywhere(api, bucket, 401, "unauthenticated", "POST", f"/providers/{INN_A}/documents", request, {})


def test_a_rejected_application_takes_no_documents(api: Client, bucket: str, people: dict[str, dict[str, str]]) -> None:
    grant = grant_for(api, people["a"])
    post_file(grant, PDF)
    decision = {"decision": "reject", "reason": "нет лицензии"}
    assert call(api, "POST", f"/providers/{INN_A}/decision", decision, people["elizovo"]).status_code == 200
    request = {"kind": "licence", "content_type": "application/pdf", "size": 100}
    refused_everywhere(
        api, bucket, 409, "invalid_transition", "POST", f"/providers/{INN_A}/documents", request, people["a"]
    )
    refused_everywhere(
        api, bucket, 409, "invalid_transition", "POST", confirm_path(grant["document_id"]), None, people["a"]
    )


# --- the service and the bucket --------------------------------------------------------------------------------------


def test_a_provider_keeps_at_most_20_documents(docs_ctx: Context) -> None:
    providers.apply(docs_ctx, owner(INN_B), application(INN_B, OGRN_B))
    for n in range(MAX_DOCUMENTS):
        document_id = f"other-{n:032x}"
        store.record_document(
            INN_B,
            Document(document_id, DocumentKind.OTHER, document_key(INN_B, document_id), "0" * 64, 1, "image/png", "t"),
        )
    with pytest.raises(errors.DocumentRejected):
        providers.request_upload(docs_ctx, owner(INN_B), INN_B, DocumentKind.LICENCE, "application/pdf", 100)
    extra = f"other-{MAX_DOCUMENTS:032x}"
    before = table_contents()
    with pytest.raises(errors.DocumentRejected):
        store.record_document(
            INN_B, Document(extra, DocumentKind.OTHER, document_key(INN_B, extra), "0" * 64, 1, "image/png", "t")
        )
    assert table_contents() == before


def test_the_service_confirms_what_it_granted(docs_ctx: Context, bucket: str) -> None:
    providers.apply(docs_ctx, owner(INN_B), application(INN_B, OGRN_B))
    grant = providers.request_upload(docs_ctx, owner(INN_B), INN_B, DocumentKind.CHARTER, "image/png", len(PNG))
    response = requests.post(
        grant.upload.url, data=grant.upload.fields, files={"file": ("charter.png", PNG, "image/png")}, timeout=30
    )
    assert response.status_code == 204
    document = providers.confirm_document(docs_ctx, owner(INN_B), INN_B, grant.document_id)
    assert (document.kind, document.size, document.sha256) == (
        DocumentKind.CHARTER,
        len(PNG),
        hashlib.sha256(PNG).hexdigest(),
    )
    assert store.get(INN_B).documents == {grant.document_id: document}
    with pytest.raises(errors.Forbidden):
        providers.confirm_document(docs_ctx, Principal("op", Role.OPERATOR, municipality="*"), INN_B, grant.document_id)


def test_the_bucket_is_created_private_and_encrypted(bucket: str) -> None:
    s3 = boto3.client("s3")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert documents.DocumentStore(bucket).ensure_bucket() is False  # already there: left as it is


def test_the_local_bucket_takes_browser_uploads_from_the_configured_origins_only(s3_endpoint: str) -> None:
    """As the template's bucket (the site's origin and AllowedOrigins): never any origin."""
    name = f"docs-cors-{os.urandom(4).hex()}"
    with environment({"AWS_ENDPOINT_URL_S3": s3_endpoint}):
        documents.reset_client()
        try:
            assert documents.DocumentStore(name).ensure_bucket(origins=("http://127.0.0.1:8080",))
            rules = boto3.client("s3").get_bucket_cors(Bucket=name)["CORSRules"]
        finally:
            documents.reset_client()
    assert [rule["AllowedOrigins"] for rule in rules] == [["http://127.0.0.1:8080"]]
