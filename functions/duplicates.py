"""Merging a child's duplicate certificate into the one that stays."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chalicelib.domain import errors
from chalicelib.services import duplicates
from functions.edge.apidoc import describe
from functions.edge.http import Call, Reply
from functions.schemas import CertificateOut, Out, Strict


class MergeIn(Strict):
    into: Annotated[str, Field(pattern=r"^\d{10}$", description="The certificate that stays.")]


class MergeOut(Out):
    duplicate: CertificateOut
    survivor: CertificateOut
    moved: Annotated[int, Field(description="Kopecks moved from the duplicate's available money to the survivor.")]


@describe(
    summary="Merge a duplicate certificate into another of the same child: the duplicate is closed, its money moved",
    body=MergeIn,
    returns=MergeOut,
    refusals=(
        errors.CertificateNotFound,
        errors.MergeRefused,
        errors.ConcurrentUpdate,
        errors.InvalidRequest,
    ),
    roles=("operator of both certificates' municipality", "regional operator"),
)
def merge(call: Call) -> Reply:
    body = call.parse(MergeIn)
    return Reply(MergeOut.of(duplicates.merge(call.ctx, call.actor, call.params["certificate_id"], body.into)))
