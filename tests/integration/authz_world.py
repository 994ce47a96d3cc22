"""The world the authorization matrix plays in: one region, its people and their things, built once per test session
(per xdist worker) on tables of its own, so that the emptying of the shared tables before each test
(tests/conftest.py) never reaches it, and on a moto S3 server of its own for the providers' documents.

Who is who (the matrix's columns), in municipality A unless said otherwise:

    anon  no token
    P1    parent of C1 (funded; contract K1 with X active and charged for March, with P1's open objection O1 to that
          charge; request R1 with X; contract KS with S active), of F (funded, contract KF with X active, then frozen
          by an operator), and of a duplicate pair: one child registered twice under two spellings of her name;
          P2's child and P1's are strangers (two children, born on different days), one pair each for opA and reg
    P2    another parent, with a child C2 of their own, acting on P1's child and contracts
    X     approved provider: programs G1 and G2 (certified), GP (published), D1 (a draft), a document
    Y     another approved provider, acting on X's things
    U     a provider that applied and is not approved yet: acts on its own registry entry and document, otherwise
          on X's things
    S     a provider suspended from the console (admin ``suspend_provider``), acting on its own things: program GS
          (certified), draft DS, document, and the contracts it took while approved (KS active, RS requested; KO
          active and charged for March, with P1's open objection OS to that charge)
    opA   operator of municipality A
    opB   operator of municipality B
    reg   regional operator

The children population of the running period is set for A and B.

A path or body names its targets by placeholder (``{certificate}``, ``{contract}``, ...); ``World.targets`` gives
each column its own values. A cell that is allowed to change something gets a fresh target from the methods below
(a new child, a new contract, ...), so no cell changes what another relies on.
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
from chalice.test import Client

from chalicelib.domain.certificate import damm_check_digit
from chalicelib.domain.period import Period
from chalicelib.storage import documents
from chalicelib.storage.models import TABLES, bind_tables, table_name
from chalicelib.storage.tables import create_tables
from chalicelib.storage.transactions import reset_connection
from functions import runtime
from tests.conftest import ROOT, test_environment
from tests.factories import approved_provider, program
from tests.helpers import environment as environment_set
from tests.helpers import local_s3
from tests.integration.test_http import call, payload
from tests.integration.test_providers import OGRN_A, organisation

A, B = "elizovo", "milkovo"
NOW, TODAY = "2027-03-10T10:00:00+12:00", date(2027, 3, 10)
PRICE = 10_000
MARCH = "2027-03"
POPULATION = {A: 1000, B: 200}
PERIOD = Period("2027", date(2027, 1, 1), date(2027, 12, 31), 1_200_000, {A: 500, B: 50}, "Asia/Kamchatka")
INN_X, INN_Y, INN_U, INN_S = "7707083893", organisation(11)[0], organisation(12)[0], organisation(13)[0]
PDF = b"%PDF-1.7\n" + bytes(range(256)) + b"\n%%EOF\n"
COLUMNS = ("anon", "P1", "P2", "X", "Y", "U", "S", "opA", "opB", "reg")
PROVIDER_COLUMNS = {INN_X: "X", INN_Y: "Y", INN_U: "U", INN_S: "S"}


def application(inn: str) -> dict[str, Any]:
    return {
        "name": f"Школа {inn}",
        "kind": "organization",
        "inn": inn,
        "ogrn": OGRN_A,
        "licence": "Л035-01234-41/00123456",
        "municipality": A,
        "contacts": {"phone": "+7 415 312-34-56", "email": "school@example.ru"},
    }


def period_body(year: int) -> dict[str, Any]:
    return {
        "period_id": str(year),
        "starts_on": f"{year}-01-01",
        "ends_on": f"{year}-12-31",
        "nominal": 1_200_000,
        "quotas": {A: 10},
    }


@dataclass
class World:
    api: Client
    prefix: str
    environment: dict[str, str]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    scenes: dict[str, dict[str, str]] = field(default_factory=dict)
    # Contracts a suspended provider took while approved: it can take no new ones, so fresh targets come from here.
    suspended_requests: list[str] = field(default_factory=list)
    suspended_contracts: list[str] = field(default_factory=list)
    # The tables as the last refused cell left them (and checked them): the next refused cell starts from there.
    settled: dict[str, Any] | None = None
    _serial: Iterator[int] = field(default_factory=itertools.count)
    _dynamodb: Any = None
    _readers: Any = None
    _context: Any = None

    # --- calling ----------------------------------------------------------------------------------------------------

    def targets(self, who: str) -> dict[str, str]:
        """What ``who`` acts on: the common scene, with the column's own things where it has them."""
        return {**self.scenes["common"], **self.scenes.get(who, {})}

    def call(self, who: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """``who`` calls the API; every non-GET carries a new Idempotency-Key (a few routes require one)."""
        headers = {**self.headers[who], **(headers or {})}
        if method != "GET":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        return call(self.api, method, path, body, headers)

    def ok(self, who: str, method: str, path: str, body: Any = None) -> Any:
        response = self.call(who, method, path, body)
        assert 200 <= response.status_code < 300, (method, path, who, response.status_code, response.body)
        return payload(response)

    def console(self, event: dict[str, Any]) -> dict[str, Any]:
        """The operators' console function (admin), as the cloud console invokes it."""
        reply: dict[str, Any] = self.api.lambda_.invoke("admin", event).payload
        assert reply["ok"], reply
        return reply

    # --- what a refusal must leave as it was ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Every item of every table, with the ledger counted (it only grows); the Idempotency-Key records are left
        out: a refusal is remembered under its key, by design. The tables are read side by side (a refused cell's
        time is mostly this)."""
        if self._dynamodb is None:
            self._dynamodb = boto3.client("dynamodb")
            self._readers = ThreadPoolExecutor(max_workers=len(TABLES))
        tables = [base for base in TABLES if base != "idempotency"]
        return dict(zip(tables, self._readers.map(self._table_state, tables), strict=True))

    def _table_state(self, base: str) -> Any:
        name = f"{self.prefix}{base}"
        scan = self._dynamodb.get_paginator("scan")
        if base == "ledger":
            return sum(page["Count"] for page in scan.paginate(TableName=name, Select="COUNT", ConsistentRead=True))
        pages = scan.paginate(TableName=name, ConsistentRead=True)
        return sorted((item for page in pages for item in page["Items"]), key=repr)

    def money(self, certificate_id: str) -> tuple[dict[str, int], int]:
        """A certificate's balance as its parent sees it, and how many ledger entries it has."""
        view = self.ok("P1", "GET", f"/certificates/{certificate_id}")
        entries = self.ok("P1", "GET", f"/certificates/{certificate_id}/ledger?limit=100")["entries"]
        return view["balance"], len(entries)

    # --- fresh things ------------------------------------------------------------------------------------------------

    def child_body(self) -> dict[str, Any]:
        """A child nobody registered yet (a child holds one certificate in the region: name and birth date)."""
        born = date(2014, 1, 1) + timedelta(days=next(self._serial))
        return {"full_name": "Иванов Пётр", "birth_date": born.isoformat(), "municipality": A}

    def child(self, parent: str = "P1") -> str:
        """A new child's certificate (accounting) in municipality A."""
        return str(self.ok(parent, "POST", "/children", self.child_body())["certificate"]["id"])

    def funded_certificate(self) -> str:
        certificate = self.child()
        self.ok("P1", "POST", f"/certificates/{certificate}/funding")
        return certificate

    def frozen_certificate(self) -> str:
        certificate = self.child()
        self.ok("opA", "POST", f"/certificates/{certificate}/freeze", {"reason": "проверка документов"})
        return certificate

    def enrol(self, certificate: str, program_id: str) -> str:
        body = {"certificate_id": certificate, "program_id": program_id}
        return str(self.ok("P1", "POST", "/contracts", body)["id"])

    def accept(self, provider: str, contract: str) -> str:
        self.ok(PROVIDER_COLUMNS[provider], "POST", f"/contracts/{contract}/accept")
        return contract

    def charged_contract(self, provider: str) -> str:
        """An active contract its provider charged for March (not objected to)."""
        contract = self.active_contract(provider)
        return self.charge(provider, contract)

    def charge(self, provider: str, contract: str) -> str:
        self.ok(PROVIDER_COLUMNS[provider], "POST", f"/contracts/{contract}/charges", {"month": MARCH, "amount": PRICE})
        return contract

    def objection(self, contract: str) -> str:
        """P1 objects to the March charge of ``contract``: the open objection's id."""
        filed = self.ok("P1", "POST", f"/contracts/{contract}/charges/{MARCH}/objection", {"reason": "занятий не было"})
        return str(filed["id"])

    def open_objection(self) -> str:
        return self.objection(self.charged_contract(INN_X))

    def duplicate_pair(self) -> dict[str, str]:
        """One child registered twice by P1 under two spellings of her name that normalise apart (registering the
        same spelling again is refused), both funded: merging moves the duplicate's money."""
        born = (date(2013, 1, 1) + timedelta(days=next(self._serial))).isoformat()
        pair = {}
        for role, name in (("duplicate", "Кузнецова Марья"), ("survivor", "Кузнецова Мария")):
            body = {"full_name": name, "birth_date": born, "municipality": A}
            certificate = str(self.ok("P1", "POST", "/children", body)["certificate"]["id"])
            self.ok("P1", "POST", f"/certificates/{certificate}/funding")
            pair[role] = certificate
        return pair

    def strangers(self) -> dict[str, str]:
        """Two funded certificates of children of two families, born on different days: not one child twice."""
        stranger = self.child("P2")
        self.ok("P2", "POST", f"/certificates/{stranger}/funding")
        return {"stranger": stranger, "stranger_into": self.funded_certificate()}

    def requested_contract(self, provider: str) -> str:
        if provider == INN_S:
            return self.suspended_requests.pop()
        return self.enrol(self.funded_certificate(), self.scenes["common"]["program"])

    def active_contract(self, provider: str) -> str:
        if provider == INN_S:
            return self.suspended_contracts.pop()
        return self.accept(provider, self.requested_contract(provider))

    def program(self, provider: str, status: str = "certified") -> str:
        return program(PERIOD, provider, price=PRICE, capacity=100, status=status, municipality=A)

    def applicant(self) -> str:
        """A new provider that has applied (to be approved or rejected)."""
        inn = organisation(100 + next(self._serial))[0]
        headers = self._token(role="provider", sub=f"user-{inn}", provider_id=inn)
        created = call(self.api, "POST", "/providers", application(inn), headers)
        assert created.status_code == 201, created.body
        return inn

    def uploaded_document(self, provider: str) -> str:
        """A document its provider asked to upload and did (not confirmed yet)."""
        upload = {"kind": "licence", "content_type": "application/pdf", "size": len(PDF)}
        grant = self.ok(PROVIDER_COLUMNS[provider], "POST", f"/providers/{provider}/documents", upload)
        s3 = documents.s3_client()
        s3.put_object(
            Bucket=self.environment["PFDO_DOCUMENTS_BUCKET"],
            Key=grant["upload"]["fields"]["key"],
            Body=PDF,
            ContentType="application/pdf",
        )
        return str(grant["document_id"])

    def next_period(self) -> dict[str, Any]:
        """A period nobody opened yet (periods never overlap)."""
        return period_body(2040 + next(self._serial))

    # --- the session's tables, environment and clock ---------------------------------------------------------------

    @contextmanager
    def entered(self) -> Iterator[World]:
        """Points the models, the app and the clock at this world for one test. The bindings are remade only when
        another test moved them (remaking them costs new connections, a good part of a cell's time); other tests'
        fixtures bind what they use themselves, so only the environment is put back."""
        saved = {key: os.environ.get(key) for key in self.environment}
        os.environ.update(self.environment)
        bound = table_name("certificates") == f"{self.prefix}certificates"
        if not (bound and self._context is not None and runtime.context() is self._context):
            runtime.reset()
            bind_tables(self.prefix)
            reset_connection()
            documents.reset_client()
            self._context = runtime.context()
            self.settled = None
        try:
            if runtime.context().today() != TODAY:  # a new context, or a cell reset the clock (DELETE /dev/clock)
                assert call(self.api, "POST", "/dev/clock", {"now": NOW}).status_code == 200
            yield self
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _token(self, **claims: str) -> dict[str, str]:
        response = call(self.api, "POST", "/dev/token", claims)
        assert response.status_code == 201, response.body
        return {"Authorization": f"Bearer {payload(response)['token']}"}

    # --- the world, once -----------------------------------------------------------------------------------------

    def populate(self) -> None:
        self._people()
        self.ok("reg", "POST", "/periods", period_body(2027) | {"quotas": PERIOD.quotas})
        self._registry()
        self._families()
        self.ok("reg", "PUT", f"/periods/{PERIOD.period_id}/population", {"children_population": POPULATION})
        self.console({"action": "suspend_provider", "provider_id": INN_S, "reason": "нарушение условий договоров"})

    def _people(self) -> None:
        self.headers = {
            "anon": {},
            "P1": self._token(role="parent", sub="parent-1"),
            "P2": self._token(role="parent", sub="parent-2"),
            "opA": self._token(role="operator", sub="operator-a", municipality=A),
            "opB": self._token(role="operator", sub="operator-b", municipality=B),
            "reg": self._token(role="operator", sub="operator-region", municipality="*"),
        }
        for inn, column in PROVIDER_COLUMNS.items():
            self.headers[column] = self._token(role="provider", sub=f"user-{inn}", provider_id=inn)

    def _registry(self) -> None:
        for inn in (INN_X, INN_Y, INN_S):
            approved_provider(inn, municipality=A)
        self.ok("U", "POST", "/providers", application(INN_U))
        self.scenes = {
            "common": {
                "municipality": A,
                "asset": "swagger-ui.css",
                "period": PERIOD.period_id,
                "provider": INN_X,
                "applicant": INN_U,
                "program": self.program(INN_X),
                "program_2": self.program(INN_X),
                "published": self.program(INN_X, "published"),
                "draft": self.program(INN_X, "draft"),
                # A well-formed certificate number never issued (issued numbers never start with 0).
                "unknown": "0" * 9 + str(damm_check_digit("0" * 9)),
            },
            "U": {"provider": INN_U},
            "S": {
                "provider": INN_S,
                "program": self.program(INN_S),
                "draft": self.program(INN_S, "draft"),
            },
        }
        for provider, scene in ((INN_X, self.scenes["common"]), (INN_U, self.scenes["U"]), (INN_S, self.scenes["S"])):
            document = self.uploaded_document(provider)
            self.ok(PROVIDER_COLUMNS[provider], "POST", f"/providers/{provider}/documents/{document}/confirm")
            scene["document"] = document

    def _families(self) -> None:
        common, suspended = self.scenes["common"], self.scenes["S"]
        certificate = self.funded_certificate()
        common["certificate"] = certificate
        common["contract"] = self.charge(INN_X, self.accept(INN_X, self.enrol(certificate, common["program"])))
        common["month"] = MARCH
        common["objection"] = self.objection(common["contract"])
        common["request"] = self.enrol(certificate, common["program_2"])
        suspended["contract"] = self.accept(INN_S, self.enrol(certificate, suspended["program"]))
        suspended["request"] = self.enrol(self.funded_certificate(), suspended["program"])
        self.suspended_requests = [self.enrol(self.funded_certificate(), suspended["program"])]
        self.suspended_contracts = [self.accept(INN_S, self.enrol(self.funded_certificate(), suspended["program"]))]
        objected = self.charge(INN_S, self.accept(INN_S, self.enrol(self.funded_certificate(), suspended["program"])))
        suspended["objection"] = self.objection(objected)
        common["unenrolled"] = self.funded_certificate()
        self.child("P2")
        frozen = self.funded_certificate()
        common["frozen_contract"] = self.accept(INN_X, self.enrol(frozen, common["program"]))
        self.console({"action": "freeze_certificate", "certificate_id": frozen, "reason": "проверка документов"})
        common["frozen"] = frozen
        common |= self.duplicate_pair()
        # Merging strangers must be refused; were it not, each operator who may merge spoils only a pair of its own.
        common |= self.strangers()
        self.scenes["opA"], self.scenes["reg"] = self.strangers(), self.strangers()


@contextmanager
def built(project_dir: Path) -> Iterator[World]:
    """The world on its own tables and S3 server; the server is stopped at the end (the tables go with the
    in-memory engine)."""
    prefix = f"authz{uuid.uuid4().hex[:8]}-"
    create_tables(prefix)
    try:
        with local_s3() as s3_endpoint:
            environment = {
                **test_environment(prefix),
                "AWS_ENDPOINT_URL_S3": s3_endpoint,
                "PFDO_DOCUMENTS_BUCKET": f"authz-documents-{prefix[5:13]}",
            }
            # The test client applies the stage's environment on every request: a copy of the config names this
            # world.
            config = json.loads((ROOT / ".chalice" / "config.json").read_text())
            config["stages"]["local"]["environment_variables"].update(environment)
            (project_dir / ".chalice").mkdir()
            (project_dir / ".chalice" / "config.json").write_text(json.dumps(config))
            with environment_set(environment):
                import app as app_module  # after the environment: /dev/* exists only in the local stage

                documents.reset_client()
                assert documents.DocumentStore(environment["PFDO_DOCUMENTS_BUCKET"]).ensure_bucket()
            with Client(app_module.app, stage_name="local", project_dir=str(project_dir)) as api:
                world = World(api, prefix, environment)
                with world.entered():
                    world.populate()
                try:
                    yield world
                finally:
                    if world._readers is not None:
                        world._readers.shutdown()
    finally:
        documents.reset_client()
