"""The documents bucket (S3): pre-signed uploads straight from the provider's browser, and what the service reads
back before it records a document.

The boto3 client is made on first use (never at import time) and shared by the process; its region comes from the
environment and its endpoint from ``AWS_ENDPOINT_URL_S3`` (which boto3 honours: moto's server locally and in tests).
A client can be injected instead.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.domain import errors

CHUNK_BYTES = 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}

_lock = threading.Lock()
_clients: dict[str, Any] = {}


def s3_client() -> Any:
    """The process's S3 client, created on first use."""
    with _lock:
        if "s3" not in _clients:
            # A local endpoint (moto) is addressed by path: ``bucket.127.0.0.1`` would not resolve.
            local = bool(os.environ.get("AWS_ENDPOINT_URL_S3"))
            _clients["s3"] = boto3.client(
                "s3",
                region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
                config=Config(signature_version="s3v4", s3={"addressing_style": "path" if local else "auto"}),
            )
        return _clients["s3"]


def reset_client() -> None:
    """Forgets the client (tests that point the endpoint elsewhere)."""
    with _lock:
        _clients.clear()


@dataclass(frozen=True)
class PresignedPost:
    """Where and with which form fields the browser posts the file (the file goes last, as ``file``)."""

    url: str
    fields: dict[str, str]


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str | None
    etag: str


@dataclass(frozen=True)
class HashedObject:
    sha256: str
    size: int
    first_bytes: bytes


@dataclass
class DocumentStore:
    bucket: str
    client: Any = None

    def _s3(self) -> Any:
        if self.client is None:
            self.client = s3_client()
        return self.client

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
        """A POST policy that admits one object: this key, this Content-Type, 1 to ``max_bytes`` bytes."""
        grant = self._s3().generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_in,
        )
        return PresignedPost(url=str(grant["url"]), fields={k: str(v) for k, v in grant["fields"].items()})

    def head(self, key: str) -> StoredObject | None:
        try:
            found = self._s3().head_object(Bucket=self.bucket, Key=key)
        except ClientError as failure:
            if _code(failure) in _MISSING:
                return None
            raise
        return StoredObject(int(found["ContentLength"]), found.get("ContentType"), str(found["ETag"]))

    def hash(self, key: str, etag: str, keep: int) -> HashedObject:
        """The SHA-256 of the object, streamed, and its first ``keep`` bytes; only of the version ``etag`` names
        (if it was replaced since, ``ConcurrentUpdate``)."""
        try:
            body = self._s3().get_object(Bucket=self.bucket, Key=key, IfMatch=etag)["Body"]
        except ClientError as failure:
            if _code(failure) in _MISSING | {"PreconditionFailed", "412"}:
                raise errors.ConcurrentUpdate("the document changed while it was checked; confirm again") from None
            raise
        digest = hashlib.sha256()
        size = 0
        first = b""
        try:
            for chunk in body.iter_chunks(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                if len(first) < keep:
                    first += chunk[: keep - len(first)]
        finally:
            body.close()
        return HashedObject(digest.hexdigest(), size, first)

    def delete(self, key: str) -> None:
        self._s3().delete_object(Bucket=self.bucket, Key=key)

    def presigned_get(self, key: str, expires_in: int) -> str:
        """A link that downloads the object for ``expires_in`` seconds (an operator reviewing an application)."""
        return str(
            self._s3().generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
            )
        )

    def ensure_bucket(self, origins: Sequence[str] = ()) -> bool:
        """Creates the bucket if it is missing (local stage and tests; AWS gets it from infra/): private, encrypted
        by default, and open to browser POSTs (and GETs) from ``origins`` only (never any origin, as in AWS).
        Returns whether it was created."""
        s3 = self._s3()
        try:
            s3.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as failure:
            if _code(failure) not in _MISSING | {"NoSuchBucket"}:
                raise
        region = s3.meta.region_name
        location = (
            {} if region in (None, "us-east-1") else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=self.bucket, **location)
        s3.put_public_access_block(
            Bucket=self.bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_encryption(
            Bucket=self.bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        if origins:
            rule = {"AllowedMethods": ["POST", "GET"], "AllowedOrigins": list(origins), "AllowedHeaders": ["*"]}
            s3.put_bucket_cors(Bucket=self.bucket, CORSConfiguration={"CORSRules": [rule]})
        return True


def _code(failure: ClientError) -> str:
    return str(failure.response.get("Error", {}).get("Code", ""))
