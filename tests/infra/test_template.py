"""The deployable template, built as `make package` builds it (a real `chalice package --merge-template`), is
cfn-lint clean and says what infra/ promises: least-privilege roles, one public Function URL, protected tables, a
private bucket, period-start schedules, alarms and a dashboard; and the packaged zip imports every handler it names."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.platform.config import Settings
from chalicelib.storage.models import TABLES
from chalicelib.storage.tables import table_schemas
from devtools.package import KEEP_SOURCE, Artefacts, Platform, build, lint, platform_of, stage_environment
from infra import access, metrics
from infra.tables import table_logical_id
from infra.template import function_id, load_stage, merge_template, role_id

STAGE = "prod"
ROOT = Path(__file__).resolve().parent.parent.parent
REGION = "eu-central-1"
TABLE_OF = {table_logical_id(base): base for base in TABLES}
FUNCTIONS = tuple(access.FUNCTIONS)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Artefacts:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    # twin: the same zip for this machine's Python and platform, which tests can import (the Lambda's is for
    # python3.13 on arm64).
    return build(STAGE, tmp_path_factory.mktemp("dist"), run_lint=False, twin=True)


@pytest.fixture(scope="module")
def template(built: Artefacts) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(built.template.read_text())
    return loaded


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {rid: r for rid, r in resources.items() if r["Type"] == kind}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# Reading a table's stream (the reports' consumer): granted on the streams, checked in test_streams_template.py.
STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}


def dynamodb_grants(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(table, action, index) for every DynamoDB permission of a role; fails on any resource that is not one of the
    stack's tables or one of its indexes."""
    grants = set()
    for statement in statements(role):
        actions = [a for a in as_list(statement["Action"]) if a.startswith("dynamodb:") and a not in STREAM_ACTIONS]
        if not actions:
            continue
        assert statement["Effect"] == "Allow"
        for resource in as_list(statement["Resource"]):
            if "Fn::GetAtt" in resource:
                logical, attribute = resource["Fn::GetAtt"]
                assert attribute == "Arn"
                grants |= {(TABLE_OF[logical], a.removeprefix("dynamodb:"), "") for a in actions}
            else:
                logical, index = resource["Fn::Sub"].removeprefix("${").split(".Arn}/index/")
                assert actions == ["dynamodb:Query"], statement
                grants.add((TABLE_OF[logical], "Query", index))
    return grants


def expected_grants(function: str) -> set[tuple[str, str, str]]:
    tables = access.FUNCTIONS[function].tables
    expected = {(table, action, "") for table, grant in tables.items() for action in grant.actions}
    return expected | {(table, "Query", index) for table, grant in tables.items() for index in grant.indexes}


# --- lint ------------------------------------------------------------------------------------------------------------


def test_cfn_lint_finds_nothing_in_the_deployable_template(built: Artefacts) -> None:
    """Errors, warnings and informational findings alike, after cfn-lint's own SAM transform; no rule is ignored."""
    assert lint(built.template, REGION) == []


def test_the_artefacts_are_the_template_the_code_zip_and_the_merge_template(built: Artefacts) -> None:
    names = sorted(p.name for p in built.folder.iterdir())
    assert names == ["deployment.zip", "merge-template.json", "sam.json", "web"]
    # The Navigator's site for the bucket: its page and hashed assets; config.json is written at deploy time.
    assert built.site == built.folder / "web" and (built.site / "index.html").is_file()
    assets = {p.name for p in (built.site / "assets").iterdir()}
    assert {name.rsplit(".", 1)[1] for name in assets} == {"css", "js"} and not (built.site / "config.json").exists()
    # One style sheet and the app's entry, named by the page; the staff pages are a chunk of their own.
    page = (built.site / "index.html").read_text()
    assert [name for name in assets if name.endswith(".css")] == [
        n for n in assets if f"/assets/{n}" in page and n.endswith(".css")
    ]
    assert any(name.startswith("app-") and f"/assets/{name}" in page for name in assets)
    assert any(name.startswith("staff-") and f"/assets/{name}" not in page for name in assets)
    template = json.loads(built.template.read_text())
    assert {
        r["Properties"]["CodeUri"] for r in of_type(template["Resources"], "AWS::Serverless::Function").values()
    } == {"./deployment.zip"}


# --- least privilege -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_runs_as_its_own_role_naming_only_the_tables_and_actions_it_uses(
    resources: dict[str, Any], function: str
) -> None:
    properties = resources[function_id(function)]["Properties"]
    assert properties["Role"] == {"Fn::GetAtt": [role_id(function), "Arn"]}
    assert dynamodb_grants(resources[role_id(function)]) == expected_grants(function)


def test_the_roles_name_the_tables_each_function_touches_and_no_other(resources: dict[str, Any]) -> None:
    def tables(function: str) -> set[str]:
        return {table for table, _, _ in dynamodb_grants(resources[role_id(function)])}

    job = {"certificates", "ledger", "periods", "contracts"}
    assert tables("topup") == tables("topup_sweep") == job
    assert tables("contract_expiry") == {"contracts", "programs", "certificates", "ledger"}
    assert tables("admin") == job | {"providers", "identities"}
    assert tables("api_handler") == set(TABLES)
    assert tables("expiry_notices") == {"certificates", "periods"}
    assert tables("aggregates") == {"certificates", "contracts", "programs", "aggregates"}


def test_the_functions_that_tell_parents_may_publish_to_the_notification_bus_and_no_other_does(
    resources: dict[str, Any],
) -> None:
    publishers = {
        f
        for f in FUNCTIONS
        if any("events:PutEvents" in as_list(s["Action"]) for s in statements(resources[role_id(f)]))
    }
    assert publishers == {"api_handler", "contract_expiry", "expiry_notices"}
    for function in publishers:
        variables = resources[function_id(function)]["Properties"]["Environment"]["Variables"]
        assert variables["PFDO_NOTIFICATION_BUS"] == {"Ref": "NotificationBus"}


def test_scans_belong_to_jobs_and_only_the_api_handler_touches_idempotency_and_documents(
    resources: dict[str, Any],
) -> None:
    scans = {f: {t for t, a, _ in dynamodb_grants(resources[role_id(f)]) if a == "Scan"} for f in FUNCTIONS}
    # The HTTP handler scans nothing: POST /periods/{id}/topup starts the top-up function, which scans.
    assert scans == {
        "api_handler": set(),
        "topup": {"certificates"},
        "topup_sweep": {"certificates"},
        "contract_expiry": {"contracts"},
        "admin": {"certificates"},
        # Funded certificates with money left and no notice yet: once a day, a job.
        "expiry_notices": {"certificates"},
        "aggregates": set(),
    }
    for function in FUNCTIONS:
        role = resources[role_id(function)]
        has_s3 = any(a.startswith("s3:") for s in statements(role) for a in as_list(s["Action"]))
        assert has_s3 == (function == "api_handler")


def test_only_the_http_function_may_start_the_top_up_and_only_the_top_up(resources: dict[str, Any]) -> None:
    invokes = {
        f: [s["Resource"] for s in statements(resources[role_id(f)]) if "lambda:InvokeFunction" in as_list(s["Action"])]
        for f in FUNCTIONS
    }
    assert invokes == {f: ([{"Fn::GetAtt": ["Topup", "Arn"]}] if f == "api_handler" else []) for f in FUNCTIONS}
    assert "PFDO_TOPUP_FUNCTION_ARN" in resources["APIHandler"]["Properties"]["Environment"]["Variables"]


def test_no_role_allows_a_wildcard_action_or_resource(resources: dict[str, Any]) -> None:
    for rid, role in of_type(resources, "AWS::IAM::Role").items():
        for statement in statements(role):
            assert statement["Effect"] == "Allow", rid
            assert not any("*" in action for action in as_list(statement["Action"])), (rid, statement)
            assert "*" not in json.dumps(statement["Resource"]).replace("/*", ""), (rid, statement)


def test_every_function_runs_python_3_13_on_arm64_with_its_own_memory_and_time_limit(resources: dict[str, Any]) -> None:
    """None on Chalice's defaults (128 MB, 60 s): each function's limits are chosen in .chalice/config.json."""
    configured = json.loads((ROOT / ".chalice" / "config.json").read_text())["lambda_functions"]
    assert set(configured) == set(FUNCTIONS)
    for function in FUNCTIONS:
        properties = resources[function_id(function)]["Properties"]
        assert (properties["Runtime"], properties["Architectures"]) == ("python3.13", ["arm64"]), function
        limits = configured[function]
        assert (properties["MemorySize"], properties["Timeout"]) == (
            limits["lambda_memory_size"],
            limits["lambda_timeout"],
        ), function


def test_every_function_is_traced_and_its_only_managed_policy_is_x_rays_write_only(resources: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        assert resources[function_id(function)]["Properties"]["Tracing"] == "Active", function
    for rid, role in of_type(resources, "AWS::IAM::Role").items():
        managed = role["Properties"].get("ManagedPolicyArns", [])
        if rid in {role_id(function) for function in FUNCTIONS}:
            assert managed == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"}], rid
        else:
            assert managed == [], rid


def test_each_function_writes_only_its_own_log_group(resources: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        logs = [s for s in statements(resources[role_id(function)]) if s["Sid"] == "OwnLogs"]
        assert len(logs) == 1
        group = resources[logs[0]["Resource"]["Fn::GetAtt"][0]]
        name = resources[function_id(function)]["Properties"]["FunctionName"]
        assert group["Properties"]["LogGroupName"] == f"/aws/lambda/{name}"


# --- the HTTP entry point --------------------------------------------------------------------------------------------


def test_the_http_handler_is_reached_through_its_public_function_url_only(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    api = resources["APIHandler"]["Properties"]
    assert api["Handler"] == "app.url_handler"
    assert "Events" not in api
    (url,) = of_type(resources, "AWS::Lambda::Url").values()
    assert url["Properties"] == {
        "AuthType": "NONE",  # Cognito tokens are checked inside the function
        "TargetFunctionArn": {"Fn::GetAtt": ["APIHandler", "Arn"]},
        "InvokeMode": "BUFFERED",
    }  # no Cors: the function answers CORS itself
    permissions = [p["Properties"] for p in of_type(resources, "AWS::Lambda::Permission").values()]
    public = [p for p in permissions if p["Principal"] == "*"]
    assert sorted(p["Action"] for p in public) == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    assert all(p["FunctionName"] == {"Ref": "APIHandler"} for p in public)
    assert next(p for p in public if p["Action"] == "lambda:InvokeFunction")["InvokedViaFunctionUrl"] is True
    assert next(p for p in public if p["Action"] == "lambda:InvokeFunctionUrl")["FunctionUrlAuthType"] == "NONE"
    # Chalice's REST API is gone, and nothing else is public.
    assert not [r for r in resources.values() if "Api" in r["Type"].split("::")[1] or "ApiGateway" in r["Type"]]
    assert all(p["Principal"] != "apigateway.amazonaws.com" for p in permissions)
    assert template["Outputs"]["FunctionUrl"] == {"Value": {"Fn::GetAtt": ["APIHandlerUrl", "FunctionUrl"]}}


def test_the_api_handler_gets_the_user_pool_and_the_client_that_cannot_grant_itself_a_role(
    resources: dict[str, Any],
) -> None:
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["PFDO_COGNITO_USER_POOL_ID"] == {"Ref": "UserPool"}
    assert variables["PFDO_COGNITO_CLIENT_IDS"] == {"Fn::Sub": '["${UserPoolClient}"]'}
    assert variables["PFDO_COGNITO_REGION"] == {"Ref": "AWS::Region"}
    assert variables["PFDO_STAGE"] == STAGE and variables["PFDO_TABLE_PREFIX"] == "pfdo-prod-"
    assert "PFDO_JWT_SECRET" not in variables and "secretsmanager" in json.dumps(variables["PFDO_CURSOR_SECRET"])
    pool = resources["UserPool"]["Properties"]
    assert {a["Name"] for a in pool["Schema"]} == {"role", "municipality", "provider_id"}
    groups = {g["Properties"]["GroupName"] for g in of_type(resources, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"parent", "provider", "operator"}
    client = resources["UserPoolClient"]["Properties"]
    assert {"custom:role", "custom:municipality", "custom:provider_id"} <= set(client["ReadAttributes"])
    assert not [a for a in client["WriteAttributes"] if a.startswith("custom:")]
    assert client["GenerateSecret"] is False


# --- state -----------------------------------------------------------------------------------------------------------


def test_every_table_has_recovery_deletion_protection_and_the_models_keys_indexes_and_ttl(
    resources: dict[str, Any],
) -> None:
    tables = of_type(resources, "AWS::DynamoDB::Table")
    schemas = table_schemas()
    assert {TABLE_OF[rid] for rid in tables} == set(TABLES)
    for rid, table in tables.items():
        base, properties = TABLE_OF[rid], table["Properties"]
        schema = schemas[base]
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
        assert properties["TableName"] == f"pfdo-prod-{base}"
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["DeletionProtectionEnabled"] is True
        assert properties["KeySchema"][0]["KeyType"] == "HASH"
        indexes = {i["IndexName"] for i in properties.get("GlobalSecondaryIndexes", [])}
        indexes |= {i["IndexName"] for i in properties.get("LocalSecondaryIndexes", [])}
        assert indexes == {
            i["index_name"] for i in schema["global_secondary_indexes"] + schema["local_secondary_indexes"]
        }
        ttl = properties.get("TimeToLiveSpecification")
        assert ttl == ({"AttributeName": schema["ttl_attribute"], "Enabled": True} if schema["ttl_attribute"] else None)
    assert resources["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"] == "expires_at"


def test_the_documents_bucket_is_private_encrypted_tls_only_and_reached_by_presigned_urls(
    resources: dict[str, Any],
) -> None:
    bucket = resources["DocumentsBucket"]
    properties = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    rule = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (cors,) = properties["CorsConfiguration"]["CorsRules"]
    # The Navigator's site, then the extra AllowedOrigins (never "*").
    assert resolve(cors["AllowedOrigins"]) == [SITE, *SAMPLE["AllowedOrigins"]] and "POST" in cors["AllowedMethods"]
    assert "PUT" not in cors["AllowedMethods"] and "DELETE" not in cors["AllowedMethods"]
    lifecycle = {r["Id"]: r for r in properties["LifecycleConfiguration"]["Rules"]}
    assert lifecycle["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    (deny,) = resources["DocumentsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Only the HTTP handler's role reaches the objects, under providers/ only.
    (objects,) = [s for s in statements(resources["APIHandlerRole"]) if s["Sid"] == "ProviderDocuments"]
    assert objects["Resource"] == {"Fn::Sub": "${DocumentsBucket.Arn}/providers/*"}
    assert sorted(objects["Action"]) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]


# --- the Navigator's site -------------------------------------------------------------------------------------------


def test_the_site_bucket_is_private_and_read_only_by_its_distribution_through_origin_access_control(
    resources: dict[str, Any],
) -> None:
    bucket = resources["SiteBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "WebsiteConfiguration" not in bucket and "CorsConfiguration" not in bucket  # no public website endpoint
    allow, deny = resources["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Effect"] == "Allow" and allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"  # reads only: no list, no write
    assert allow["Resource"] == {"Fn::Sub": "${SiteBucket.Arn}/*"}
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":distribution/${SiteDistribution}")  # this distribution only, not any in the account
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    oac = resources["SiteOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy identity
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SiteResponseHeadersPolicy"}
    assert config["DefaultRootObject"] == "index.html"


def test_the_site_answers_with_security_headers_that_allow_only_its_own_code_and_the_api(
    resources: dict[str, Any],
) -> None:
    headers = resources["SiteResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    assert all(header["Override"] for header in security.values())
    hsts = security["StrictTransportSecurity"]
    assert hsts["AccessControlMaxAgeSec"] >= 365 * 24 * 3600 and hsts["IncludeSubdomains"] is True
    assert security["ContentTypeOptions"] == {"Override": True}  # nosniff
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    csp = dict(
        directive.split(" ", 1)
        for directive in resolve(security["ContentSecurityPolicy"]["ContentSecurityPolicy"]).split("; ")
    )
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert "unsafe" not in " ".join(csp.values()) and "*" not in csp["script-src"]
    connect = csp["connect-src"].split()
    assert connect[0] == "'self'"
    assert "https://*.lambda-url.eu-central-1.on.aws" in connect  # the API (its Function URL)
    assert any(c.endswith(".auth.eu-central-1.amazoncognito.com") for c in connect)  # the sign-in's token endpoint
    # A provider's documents go from the page straight to the documents bucket (pre-signed POST), and nowhere else.
    assert f"https://{SAMPLE['DocumentsBucket']}.s3.amazonaws.com" in connect
    # ... named, not referred to: the bucket's CORS names the site, so a Ref here would be a cycle.
    assert resolve(resources["DocumentsBucket"]["Properties"]["BucketName"]) == SAMPLE["DocumentsBucket"]
    assert all("*" not in c for c in connect if "s3" in c)


def test_the_api_and_the_sign_in_accept_the_sites_origin_and_never_any_origin(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert json.loads(resolve(variables["PFDO_CORS_ORIGINS"])) == [SITE, *SAMPLE["AllowedOrigins"]]
    without_extras = variables["PFDO_CORS_ORIGINS"]["Fn::If"][2]
    assert json.loads(resolve(without_extras)) == [SITE]
    assert template["Parameters"]["AllowedOrigins"]["Default"] == ""
    assert not re.match(template["Parameters"]["AllowedOrigins"]["AllowedPattern"], "*")
    client = resources["UserPoolClient"]["Properties"]
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["GenerateSecret"] is False  # a public client: PKCE in the page, no secret to leak
    assert "openid" in client["AllowedOAuthScopes"]
    assert [resolve(url) for url in client["CallbackURLs"]] == [f"{SITE}/"]
    assert [resolve(url) for url in client["LogoutURLs"]] == [f"{SITE}/"]
    domain = resources["UserPoolDomain"]["Properties"]
    assert domain["UserPoolId"] == {"Ref": "UserPool"}
    outputs = template["Outputs"]
    assert {"SiteUrl", "SiteBucketName", "SiteDistributionId", "HostedUiDomain"} <= set(outputs)


# --- schedules and concurrency ---------------------------------------------------------------------------------------


def test_the_top_up_has_reserved_concurrency_and_lambdas_longest_timeout(resources: dict[str, Any]) -> None:
    topup = resources["Topup"]["Properties"]
    assert topup["ReservedConcurrentExecutions"] == 2
    assert topup["Timeout"] == 900
    sweep = resources["TopupSweep"]["Properties"]
    (event,) = sweep["Events"].values()
    assert event["Properties"]["Schedule"] == "rate(15 minutes)"
    assert sweep["Timeout"] < 15 * 60  # one sweep ends before the next begins
    (expiry,) = resources["ContractExpiry"]["Properties"]["Events"].values()
    assert expiry["Properties"]["Schedule"] == "rate(1 hour)"


def test_period_starts_are_scheduled_by_a_role_that_can_only_invoke_the_top_up(resources: dict[str, Any]) -> None:
    role = resources["PeriodStartSchedulerRole"]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    (invoke,) = statements(role)
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    assert invoke["Resource"] == {"Fn::GetAtt": ["Topup", "Arn"]}
    assert resources["PeriodScheduleGroup"]["Properties"]["Name"] == "pfdo-prod-periods"
    for function in ("api_handler", "admin"):  # they open periods, so they create the periods' schedules
        found = {s["Sid"]: s for s in statements(resources[role_id(function)])}
        assert found["PeriodStartSchedules"]["Action"] == ["scheduler:CreateSchedule", "scheduler:UpdateSchedule"]
        assert found["PeriodStartSchedules"]["Resource"]["Fn::Sub"].endswith(":schedule/pfdo-prod-periods/*")
        assert found["PassTheSchedulerRole"]["Resource"] == {"Fn::GetAtt": ["PeriodStartSchedulerRole", "Arn"]}
        variables = resources[function_id(function)]["Properties"]["Environment"]["Variables"]
        assert variables["PFDO_SCHEDULE_GROUP"] == "pfdo-prod-periods"
        assert variables["PFDO_SCHEDULER_ROLE_ARN"] == {"Fn::GetAtt": ["PeriodStartSchedulerRole", "Arn"]}
        assert variables["PFDO_TOPUP_FUNCTION_ARN"] == {"Fn::GetAtt": ["Topup", "Arn"]}


SAMPLE = {
    "UserPool": "eu-central-1_AbC123",
    "UserPoolClient": "4b2mf0client",
    "AWS::Region": "eu-central-1",
    "DocumentsBucket": "pfdo-prod-documents-123456789012-eu-central-1",
    "AllowedOrigins": ["https://navigator.example.org", "https://admin.example.org"],
    "NotificationBus": "pfdo-prod-notifications",
    "SiteDistribution.DomainName": "d111111abcdef8.cloudfront.net",
    "UserPoolDomain": "pfdo-prod-123456789012",
    "AWS::AccountId": "123456789012",
}
SITE = "https://d111111abcdef8.cloudfront.net"


def resolve(value: Any) -> Any:
    """A template value as CloudFormation would give it, with sample values for what exists only once deployed."""
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return SAMPLE[value["Ref"]]
    if "Fn::GetAtt" in value:
        return f"arn:aws:sample:::{value['Fn::GetAtt'][0]}"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(resolve(parts))
    if "Fn::If" in value:  # the conditions as they are with SAMPLE's values: AllowedOrigins given
        condition, when_true, _when_false = value["Fn::If"]
        assert condition == "HasAllowedOrigins", condition
        return resolve(when_true)
    if "Fn::Split" in value:
        separator, text = value["Fn::Split"]
        return resolve(text).split(separator)
    text, names = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
    names = {name: resolve(v) for name, v in names.items()}
    if "{{resolve:secretsmanager:" in text:
        return "a-generated-secret"
    return re.sub(r"\$\{([^}]+)\}", lambda m: str(names.get(m[1]) or resolve({"Ref": m[1]})), text)


def test_the_api_handlers_environment_makes_valid_settings(
    resources: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    variables = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    for name, value in variables.items():
        monkeypatch.setenv(name, resolve(value))
    settings = Settings()
    assert settings.stage == "prod" and not settings.is_local
    assert settings.cognito_user_pool_id == SAMPLE["UserPool"] and settings.cognito_region == "eu-central-1"
    assert settings.cognito_client_ids == (SAMPLE["UserPoolClient"],)
    assert settings.cors_origins == (SITE, *SAMPLE["AllowedOrigins"])
    assert settings.documents_bucket == SAMPLE["DocumentsBucket"]
    assert settings.cursor_key == "a-generated-secret"


def test_every_setting_the_template_passes_is_one_the_application_reads(resources: dict[str, Any]) -> None:
    """A variable with a misspelt name would be ignored silently and the setting keep its local default."""
    fields = {f"PFDO_{name.upper()}" for name in Settings.model_fields}
    for function in FUNCTIONS:
        variables = resources[function_id(function)]["Properties"]["Environment"]["Variables"]
        unread = sorted(name for name in variables if name.startswith("PFDO_") and name not in fields)
        assert not unread, f"{function}: chalicelib.platform.config.Settings has no field for {unread}"


# --- alarms and dashboard --------------------------------------------------------------------------------------------


def test_alarms_watch_errors_and_throttles_of_every_function_the_top_up_deadline_and_ledger_drift(
    resources: dict[str, Any],
) -> None:
    alarms = {rid: a["Properties"] for rid, a in of_type(resources, "AWS::CloudWatch::Alarm").items()}
    for function in FUNCTIONS:
        for kind in ("Errors", "Throttles"):
            alarm = alarms[f"{function_id(function)}{kind}Alarm"]
            assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", kind)
            assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id(function)}}]
    late = alarms["TopupNotFinishedAlarm"]
    assert (late["Namespace"], late["MetricName"], late["Statistic"]) == ("PFDO", "TopupSegmentsPending", "Minimum")
    assert late["Period"] == 3600 and late["EvaluationPeriods"] == {"Ref": "TopupDeadlineHours"}
    drift = alarms["LedgerDriftAlarm"]
    assert (drift["Namespace"], drift["MetricName"]) == ("PFDO", "LedgerDrift")
    for alarm in (late, drift):  # exactly the dimensions the application emits (infra/metrics.py)
        assert [d["Name"] for d in alarm["Dimensions"]] == list(metrics.METRICS[alarm["MetricName"]].dimensions)
        assert alarm["Dimensions"][0]["Value"] == "pfdo-prod"
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] and alarm["TreatMissingData"] == "notBreaching"
    # Powertools adds the service dimension from this variable.
    assert resources["Topup"]["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "pfdo-prod"


def test_the_dashboard_shows_charges_refusals_topup_errors_and_latency(resources: dict[str, Any]) -> None:
    body = json.loads(
        resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"].replace("${AWS::Region}", REGION)
    )
    titles = [w["properties"]["title"] for w in body["widgets"]]
    for word in ("Charges", "Refusals by code", "Top-up progress", "errors", "duration", "Requests by route"):
        assert any(word in title for title in titles), word
    used = json.dumps(body)
    assert all(f"pfdo-functions-prod-{function}" in used for function in FUNCTIONS)


# --- the merge template ----------------------------------------------------------------------------------------------


def test_a_function_without_declared_access_is_refused() -> None:
    with pytest.raises(ValueError, match="no declared access"):
        merge_template(load_stage(STAGE, (*FUNCTIONS, "reports")))


# --- the code --------------------------------------------------------------------------------------------------------

HANDLERS_PROBE = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
handlers = json.loads(sys.argv[2])
missing = []
for handler in handlers:
    module, _, name = handler.rpartition(".")
    if not callable(getattr(importlib.import_module(module), name, None)):
        missing.append(handler)
import app
print(json.dumps({"missing": missing, "routes": sorted(app.app.routes)}))
"""


def bytecode_of(code: Path, target: Platform) -> tuple[list[str], list[str]]:
    """Our modules (source with ``__pycache__`` bytecode) and the dependencies' (sourceless ``.pyc``) in ``code``,
    each checked: bytecode of ``target``'s Python, unchecked-hash (valid whatever the timestamps)."""
    magic = MAGIC[target.python]
    with zipfile.ZipFile(code) as archive:
        names = set(archive.namelist())
        sources = sorted(n for n in names if n.endswith(".py"))
        for source in sources:
            assert source.split("/", 1)[0] in KEEP_SOURCE, f"{source}: a dependency's source (it ships bytecode only)"
            folder, _, module = source.rpartition("/")
            pyc = f"{folder}/__pycache__/{module[:-3]}.{target.cache_tag}.pyc".lstrip("/")
            assert pyc in names, source
            header = archive.read(pyc)[:8]
            assert header[:4] == magic and int.from_bytes(header[4:8], "little") == 0b01, pyc
        sourceless = sorted(n for n in names if n.endswith(".pyc") and "__pycache__/" not in n)
        for pyc in sourceless:
            header = archive.read(pyc)[:8]
            assert header[:4] == magic and int.from_bytes(header[4:8], "little") == 0b01, pyc
    return sources, sourceless


# The first four bytes of a pyc: CPython's magic number of each version (importlib.util.MAGIC_NUMBER).
MAGIC = {"3.11": (3495).to_bytes(2, "little") + b"\r\n", "3.13": (3571).to_bytes(2, "little") + b"\r\n"}


def test_every_module_in_the_zip_ships_bytecode_valid_whatever_the_timestamps(
    built: Artefacts, template: dict[str, Any]
) -> None:
    """Lambda's /var/task is read-only: without bytecode in the zip every cold start compiles every module. The
    bytecode is for the runtime's Python (3.13), not this machine's; the twin's for this machine's."""
    target = platform_of(template)
    assert (target.python, target.machine) == ("3.13", "aarch64")
    sources, sourceless = bytecode_of(built.code, target)
    ours = [
        "app.py",
        *(p.relative_to(ROOT).as_posix() for d in ("chalicelib", "functions") for p in (ROOT / d).rglob("*.py")),
    ]
    assert sources == sorted(ours) and len(sources) + len(sourceless) > 500
    assert MAGIC[f"{sys.version_info.major}.{sys.version_info.minor}"] == importlib.util.MAGIC_NUMBER
    assert built.host_code is not None
    host_sources, host_sourceless = bytecode_of(built.host_code, Platform.host())
    assert (host_sources, len(host_sourceless)) == (sources, len(sourceless))


def import_handlers(folder: Path, handlers: list[str]) -> dict[str, Any]:
    # -I -S: no site-packages, no PYTHONPATH; only the standard library and the unzipped folder, as in Lambda;
    # -B: nothing written (Lambda's /var/task is read-only).
    result = subprocess.run(
        [sys.base_prefix + "/bin/python3", "-B", "-I", "-S", "-c", HANDLERS_PROBE, str(folder), json.dumps(handlers)],
        cwd="/",
        env={"PATH": "/usr/bin:/bin", **stage_environment(STAGE)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def handlers_of(resources: dict[str, Any]) -> list[str]:
    return sorted({f["Properties"]["Handler"] for f in of_type(resources, "AWS::Serverless::Function").values()})


def test_the_packaged_zip_alone_imports_every_handler_the_template_names(
    built: Artefacts, resources: dict[str, Any], tmp_path: Path
) -> None:
    assert built.host_code is not None  # the Lambda's zip is for python3.13 on arm64: its twin for this machine
    with zipfile.ZipFile(built.host_code) as archive:
        archive.extractall(tmp_path)
    handlers = handlers_of(resources)
    assert "app.url_handler" in handlers
    found = import_handlers(tmp_path, handlers)
    assert found["missing"] == []
    assert not [route for route in found["routes"] if route.startswith("/dev")]


def test_the_shipped_bytecode_is_what_runs(built: Artefacts, resources: dict[str, Any], tmp_path: Path) -> None:
    """Every source replaced by a module that fails: the handlers still import, from the bytecode alone."""
    assert built.host_code is not None
    with zipfile.ZipFile(built.host_code) as archive:
        archive.extractall(tmp_path)
    for source in tmp_path.rglob("*.py"):
        source.write_text('raise ImportError("compiled from source: the bytecode was not used")\n')
    assert import_handlers(tmp_path, handlers_of(resources))["missing"] == []
