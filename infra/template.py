"""The deployment template's own half: everything Chalice does not generate, merged into what it does.

``chalice package --merge-template`` deep-merges this template into Chalice's ``sam.json`` (the functions, the
schedules of ``topup_sweep`` and ``contract_expiry``, the code zip). It adds, for one stage:

- the DynamoDB tables, rendered from the PynamoDB models (infra/tables.py);
- one IAM role per function naming only the tables, indexes and actions it uses (infra/access.py);
- the Function URL of the HTTP handler (``app.url_handler``, public: tokens are checked inside);
- the Cognito user pool and app client whose tokens the API accepts, and the Hosted UI's domain (sign-in with the
  authorization code flow and PKCE);
- the Navigator's site (infra/site.py): a private bucket behind CloudFront with origin access control and security
  headers; the API and the documents bucket accept its origin (never ``*``);
- the private, encrypted bucket of provider documents (pre-signed access only);
- the EventBridge Scheduler group and role with which a period's start runs the ``topup`` function;
- the alarms (errors, throttles, top-up not finished in time, ledger drift), their SNS topic, and a dashboard.

Chalice's REST API is dropped afterwards by ``finalise``: the Function URL is the one HTTP entry point, and the
handler it calls speaks the Function URL payload, not API Gateway's.

``python -m infra.template STAGE`` prints the merge template.
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.utils import to_cfn_resource_name

from chalicelib.storage.aggregates import STREAM_FILTERS
from chalicelib.storage.tables import table_schemas
from infra import access, metrics, site
from infra.tables import table_logical_id, table_resources

ROOT = Path(__file__).resolve().parent.parent
HTTP_HANDLER = "app.url_handler"
# What Chalice generates for API Gateway, removed by ``finalise``.
REST_API_RESOURCES = ("RestAPI", "APIHandlerInvokePermission")
REST_API_OUTPUTS = ("RestAPIId", "EndpointURL")
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
Json = dict[str, Any]
XRAY_WRITE_ONLY = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"}


@dataclass(frozen=True)
class Stage:
    """What the template needs to know of a stage, read from .chalice/config.json (the one place it is set)."""

    name: str
    app_name: str
    table_prefix: str
    timezone: str
    functions: tuple[str, ...]
    # Every function's Lambda runtime and architecture (config.json ``lambda_runtime``, ``lambda_architecture``).
    runtime: str = "python3.13"
    architecture: str = "arm64"

    def function_name(self, function: str) -> str:
        """The Lambda function's name, as ``chalice deploy`` would name it: ``pfdo-functions-prod-topup``."""
        return f"{self.app_name}-{self.name}-{function}"

    @property
    def prefix(self) -> str:
        return f"pfdo-{self.name}"

    @property
    def schedule_group(self) -> str:
        return f"{self.prefix}-periods"


def load_stage(name: str, functions: tuple[str, ...] | None = None, project_dir: Path = ROOT) -> Stage:
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    environment = config["stages"][name]["environment_variables"]
    return Stage(
        name=name,
        app_name=config["app_name"],
        table_prefix=environment["PFDO_TABLE_PREFIX"],
        timezone=environment["PFDO_REGION_TIMEZONE"],
        functions=tuple(functions if functions is not None else access.FUNCTIONS),
        # Chalice takes the architecture from the config and the runtime from the Python that runs it (3.11 here):
        # the merge template sets both for every function (devtools/package.py packages for them).
        runtime=config["lambda_runtime"],
        architecture=config["lambda_architecture"],
    )


def function_id(function: str) -> str:
    """The function's resource name in Chalice's template (the HTTP handler is always ``APIHandler``)."""
    return "APIHandler" if function == "api_handler" else to_cfn_resource_name(function)


def log_group_id(function: str) -> str:
    """Chalice's log group of the function (created when the stage sets ``log_retention_in_days``)."""
    return to_cfn_resource_name(f"{function}-log-group")


def role_id(function: str) -> str:
    return f"{function_id(function)}Role"


def _get_arn(resource: str) -> Json:
    return {"Fn::GetAtt": [resource, "Arn"]}


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


# --- IAM -------------------------------------------------------------------------------------------------------------


def table_statements(tables: access.Access) -> list[Json]:
    """One statement per table (its actions on the table's ARN) and one for the indexes it queries."""
    statements: list[Json] = []
    for table in sorted(tables):
        grant = tables[table]
        logical = table_logical_id(table)
        if grant.actions:
            statements.append(
                {
                    "Sid": f"{_camel(table)}Table",
                    "Effect": "Allow",
                    "Action": [f"dynamodb:{action}" for action in sorted(grant.actions)],
                    "Resource": _get_arn(logical),
                }
            )
        if grant.indexes:
            statements.append(
                {
                    "Sid": f"{_camel(table)}Indexes",
                    "Effect": "Allow",
                    "Action": ["dynamodb:Query"],
                    "Resource": [{"Fn::Sub": f"${{{logical}.Arn}}/index/{index}"} for index in sorted(grant.indexes)],
                }
            )
    return statements


def document_statements() -> list[Json]:
    objects = {"Fn::Sub": "${DocumentsBucket.Arn}/providers/*"}
    return [
        {
            # Pre-signed POST and GET act with the signer's permissions: PutObject and GetObject are those of the
            # browser's upload and download; HeadObject needs GetObject.
            "Sid": "ProviderDocuments",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            "Resource": objects,
        },
        {
            # Without ListBucket a missing key answers 403 instead of 404 ("not uploaded yet" reads as an error).
            "Sid": "ProviderDocumentsListing",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": _get_arn("DocumentsBucket"),
            "Condition": {"StringLike": {"s3:prefix": ["providers/*"]}},
        },
    ]


def schedule_statements(stage: Stage) -> list[Json]:
    return [
        {
            "Sid": "PeriodStartSchedules",
            "Effect": "Allow",
            # chalicelib/platform/scheduling.py: create, or update when the period is opened again; each
            # schedule deletes itself after it ran (ActionAfterCompletion), so nothing here deletes.
            "Action": ["scheduler:CreateSchedule", "scheduler:UpdateSchedule"],
            "Resource": {
                "Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/"
                f"{stage.schedule_group}/*"
            },
        },
        {
            "Sid": "PassTheSchedulerRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": _get_arn("PeriodStartSchedulerRole"),
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        },
    ]


NOTIFICATION_BUS = "NotificationBus"


def notification_bus(stage: Stage) -> Json:
    """The bus parents' notifications are published to (chalicelib/platform/notifications.py); the apps that tell
    parents (push, e-mail, the cabinet) subscribe with rules of their own."""
    return {
        NOTIFICATION_BUS: {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": f"{stage.prefix}-notifications"},
        }
    }


def notification_statements() -> list[Json]:
    return [
        {
            "Sid": "TellParents",
            "Effect": "Allow",
            "Action": ["events:PutEvents"],
            "Resource": _get_arn(NOTIFICATION_BUS),
        }
    ]


def function_role(stage: Stage, function: str) -> Json:
    grant = access.FUNCTIONS[function]
    statements = table_statements(grant.tables)
    statements.append(
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": _get_arn(log_group_id(function)),
        }
    )
    if grant.documents:
        statements.extend(document_statements())
    if grant.period_schedules:
        statements.extend(schedule_statements(stage))
    if grant.notifications:
        statements.extend(notification_statements())
    if grant.starts_topup:
        statements.append(
            {
                "Sid": "StartTheTopup",
                "Effect": "Allow",
                # POST /periods/{id}/topup invokes the top-up function asynchronously (InvocationType=Event).
                "Action": ["lambda:InvokeFunction"],
                "Resource": _get_arn(function_id("topup")),
            }
        )
    if function == STREAM_CONSUMER:
        statements.extend(stream_statements())
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": f"{stage.function_name(function)}: only the tables and actions it uses (infra/access.py)",
            "AssumeRolePolicyDocument": LAMBDA_TRUST,
            # Tracing is Active on every function (Powertools Tracer): AWS's write-only X-Ray policy, as SAM attaches
            # to the roles it makes. X-Ray's write actions take no resource, so no statement of ours could name one.
            "ManagedPolicyArns": [XRAY_WRITE_ONLY],
            "Policies": [
                {
                    "PolicyName": f"{function}-least-privilege",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }


# --- the functions ---------------------------------------------------------------------------------------------------


def _environment(stage: Stage, function: str) -> Json:
    variables: Json = {}
    grant = access.FUNCTIONS[function]
    if function == "api_handler":
        variables.update(
            {
                "PFDO_DOCUMENTS_BUCKET": {"Ref": "DocumentsBucket"},
                "PFDO_COGNITO_USER_POOL_ID": {"Ref": "UserPool"},
                # Lists are JSON in the environment (pydantic-settings).
                "PFDO_COGNITO_CLIENT_IDS": {"Fn::Sub": '["${UserPoolClient}"]'},
                "PFDO_COGNITO_REGION": {"Ref": "AWS::Region"},
                # The same origins may call the Function URL (CORS answered by functions/edge/url_adapter.py).
                "PFDO_CORS_ORIGINS": site.cors_origins_variable(),
                # Resolved at deploy time from the generated secret: cursors cannot be forged with a known key.
                "PFDO_CURSOR_SECRET": {"Fn::Sub": "{{resolve:secretsmanager:${CursorSecret}:SecretString}}"},
            }
        )
    if grant.notifications:
        # Ref of an event bus is its name, which PutEvents takes.
        variables["PFDO_NOTIFICATION_BUS"] = {"Ref": NOTIFICATION_BUS}
    if grant.period_schedules:
        variables.update(
            {
                "PFDO_SCHEDULE_GROUP": stage.schedule_group,
                "PFDO_SCHEDULER_ROLE_ARN": _get_arn("PeriodStartSchedulerRole"),
                "PFDO_TOPUP_FUNCTION_ARN": _get_arn(function_id("topup")),
            }
        )
    return variables


def function_overrides(stage: Stage, function: str) -> Json:
    """Merged into Chalice's function: its name, runtime and architecture, its own role, the environment only infra
    knows."""
    properties: Json = {
        "FunctionName": stage.function_name(function),
        "Runtime": stage.runtime,
        "Architectures": [stage.architecture],
        # X-Ray traces of every invocation (Powertools Tracer, functions/runtime.py).
        "Tracing": "Active",
        "Role": _get_arn(role_id(function)),
    }
    variables = _environment(stage, function)
    if variables:
        properties["Environment"] = {"Variables": variables}
    if function == "api_handler":
        properties["Handler"] = HTTP_HANDLER
    return {"Properties": properties}


def function_url() -> Json:
    """Public Function URL of the HTTP handler: authentication (Cognito JWT) and CORS happen inside the function, so
    the URL itself configures neither (CORS twice would send duplicate headers)."""
    api = {"Ref": "APIHandler"}
    return {
        "APIHandlerUrl": {
            "Type": "AWS::Lambda::Url",
            "Properties": {"AuthType": "NONE", "TargetFunctionArn": _get_arn("APIHandler"), "InvokeMode": "BUFFERED"},
        },
        # Since October 2025 a public URL needs both permissions: InvokeFunctionUrl, and InvokeFunction restricted to
        # calls that come through the URL.
        "APIHandlerUrlPermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunctionUrl",
                "FunctionName": api,
                "Principal": "*",
                "FunctionUrlAuthType": "NONE",
            },
        },
        "APIHandlerUrlInvokePermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": api,
                "Principal": "*",
                "InvokedViaFunctionUrl": True,
            },
        },
    }


# --- identity, documents, secrets ------------------------------------------------------------------------------------

CUSTOM_ATTRIBUTES = {"role": 16, "municipality": 64, "provider_id": 32}
# A user's role may also be the group they are in (the ``cognito:groups`` claim).
ROLE_GROUPS = ("parent", "provider", "operator")


def user_pool(stage: Stage) -> Json:
    """Parents sign up themselves; ``custom:role`` (or the group ``parent`` / ``provider`` / ``operator``),
    ``custom:municipality`` and ``custom:provider_id`` are set by an administrator (the app client cannot write them),
    and arrive in the ID token."""
    custom = [f"custom:{name}" for name in CUSTOM_ATTRIBUTES]
    return {
        "UserPool": {
            "Type": "AWS::Cognito::UserPool",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "UserPoolName": stage.prefix,
                "UsernameAttributes": ["email"],
                "AutoVerifiedAttributes": ["email"],
                "DeletionProtection": "ACTIVE",
                "MfaConfiguration": "OPTIONAL",
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False},
                "Policies": {
                    "PasswordPolicy": {
                        "MinimumLength": 12,
                        "RequireLowercase": True,
                        "RequireUppercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": False,
                        "TemporaryPasswordValidityDays": 3,
                    }
                },
                "Schema": [
                    {
                        "Name": name,
                        "AttributeDataType": "String",
                        "Mutable": True,
                        "StringAttributeConstraints": {"MinLength": "0", "MaxLength": str(length)},
                    }
                    for name, length in CUSTOM_ATTRIBUTES.items()
                ],
            },
        },
        **{
            f"{role.capitalize()}Group": {
                "Type": "AWS::Cognito::UserPoolGroup",
                "Properties": {
                    "UserPoolId": {"Ref": "UserPool"},
                    "GroupName": role,
                    "Description": f"Users whose role is {role} (cognito:groups; chalicelib/platform/jwks.py)",
                },
            }
            for role in ROLE_GROUPS
        },
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "ClientName": f"{stage.prefix}-web",
                "UserPoolId": {"Ref": "UserPool"},
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "EnableTokenRevocation": True,
                "AccessTokenValidity": 60,
                "IdTokenValidity": 60,
                "RefreshTokenValidity": 30,
                "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
                "ReadAttributes": ["email", "email_verified", "name", *custom],
                "WriteAttributes": ["email", "name"],
                # The Navigator signs in through the Hosted UI: authorization code flow with PKCE, back to the site.
                **site.OAUTH_CLIENT,
            },
        },
        **site.hosted_ui_domain(stage.prefix),
    }


def documents_bucket(prefix: str) -> Json:
    return {
        "DocumentsBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BucketName": {"Fn::Sub": site.documents_bucket_name(prefix)},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                # Browsers upload by pre-signed POST and may fetch a pre-signed GET; only from the configured origins.
                "CorsConfiguration": {
                    "CorsRules": [
                        {
                            "AllowedMethods": ["POST", "GET"],
                            "AllowedOrigins": site.cors_origins_list(),
                            "AllowedHeaders": ["*"],
                            "MaxAge": 3000,
                        }
                    ]
                },
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "abort-incomplete-uploads",
                            "Status": "Enabled",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                        },
                        {
                            "Id": "expire-replaced-versions",
                            "Status": "Enabled",
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                        },
                    ]
                },
            },
        },
        "DocumentsBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "DocumentsBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [_get_arn("DocumentsBucket"), {"Fn::Sub": "${DocumentsBucket.Arn}/*"}],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }


def cursor_secret(stage: Stage) -> Json:
    return {
        "CursorSecret": {
            "Type": "AWS::SecretsManager::Secret",
            # A new secret only invalidates the pagination cursors in flight.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "Description": f"{stage.prefix}: signs pagination cursors (PFDO_CURSOR_SECRET of the HTTP handler)",
                "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
            },
        }
    }


# --- period starts ---------------------------------------------------------------------------------------------------


def period_schedules(stage: Stage) -> Json:
    """The group and role with which one-time schedules run ``topup`` at each period's start: the application
    creates one whenever a period is opened (chalicelib/platform/scheduling.py: ``at(...)`` in UTC, the instant
    infra.schedules computes too). The 15-minute ``topup_sweep`` is the safety net behind them."""
    topup = function_id("topup")
    return {
        "PeriodScheduleGroup": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {"Name": stage.schedule_group}},
        "PeriodStartSchedulerRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": f"{stage.prefix}: EventBridge Scheduler invokes the top-up at a period's start",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "invoke-topup",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": ["lambda:InvokeFunction"],
                                    "Resource": _get_arn(topup),
                                }
                            ],
                        },
                    }
                ],
            },
        },
    }


# --- the reports' stream consumer ------------------------------------------------------------------------------------

STREAM_CONSUMER = "aggregates"
STREAM_FAILURES = "AggregatesFailedBatches"
# Lambda's batch of stream records: the consumer packs it into transactions of 100 items (services/streams.py).
STREAM_BATCH_SIZE = 1000
STREAM_RETRIES = 10
# A record is never older than the stream keeps it (24 h); past that Lambda could not read it anyway.
STREAM_RECORD_AGE_SECONDS = 86400


def consumed_tables() -> list[str]:
    """The tables whose streams the reports read (the models that declare a stream)."""
    return [base for base, schema in table_schemas().items() if schema.get("stream_view_type")]


def stream_statements() -> list[Json]:
    """Reading the consumed streams, and sending a batch given up on to the on-failure queue."""
    tables = consumed_tables()
    return [
        {
            "Sid": "ReadTableStreams",
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
            "Resource": [{"Fn::GetAtt": [table_logical_id(base), "StreamArn"]} for base in tables],
        },
        {
            "Sid": "ListTableStreams",
            "Effect": "Allow",
            "Action": ["dynamodb:ListStreams"],
            "Resource": [{"Fn::Sub": f"${{{table_logical_id(base)}.Arn}}/stream/*"} for base in tables],
        },
        {
            "Sid": "FailedStreamBatches",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": _get_arn(STREAM_FAILURES),
        },
    ]


def stream_consumer(stage: Stage) -> Json:
    """One event source mapping per consumed stream, into the ``aggregates`` function.

    The consumer applies a batch exactly once however often it comes (markers, storage/aggregates.py), so Lambda may
    retry freely: a failing batch is split in halves to isolate a bad record, retried ``STREAM_RETRIES`` times, then
    its description (shard, sequence numbers) goes to the on-failure queue, whose depth alarms; replay it from the
    stream within 24 h. One batch per shard at a time (ParallelizationFactor 1), in order. Filters spare the
    invocations for writes that change no figure.
    """
    function = function_id(STREAM_CONSUMER)
    resources: Json = {
        STREAM_FAILURES: {
            "Type": "AWS::SQS::Queue",
            # What it holds points into the stream, which keeps records 24 h: nothing to keep past the stack.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "QueueName": f"{stage.prefix}-aggregates-failed-batches",
                "MessageRetentionPeriod": 14 * 86400,
                "SqsManagedSseEnabled": True,
            },
        },
        f"{STREAM_FAILURES}Alarm": _alarm(
            "The reports' consumer gave up on a stream batch: the reports miss it until it is replayed (the message "
            "names the shard and sequence numbers)",
            {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [STREAM_FAILURES, "QueueName"]}}],
                "Statistic": "Maximum",
            },
            0,
        ),
        "AggregatesIteratorAgeAlarm": _alarm(
            "The reports trail the data by more than 10 minutes (the consumer is failing or too slow)",
            {
                "Namespace": "AWS/Lambda",
                "MetricName": "IteratorAge",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function}}],
                "Statistic": "Maximum",
            },
            600_000,
        ),
    }
    for base in consumed_tables():
        resources[f"{_camel(base)}StreamMapping"] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            # The role must be able to read the stream before Lambda starts polling it.
            "DependsOn": [role_id(STREAM_CONSUMER)],
            "Properties": {
                "FunctionName": {"Ref": function},
                "EventSourceArn": {"Fn::GetAtt": [table_logical_id(base), "StreamArn"]},
                "StartingPosition": "TRIM_HORIZON",
                "BatchSize": STREAM_BATCH_SIZE,
                "MaximumBatchingWindowInSeconds": 1,
                "ParallelizationFactor": 1,
                "BisectBatchOnFunctionError": True,
                "MaximumRetryAttempts": STREAM_RETRIES,
                "MaximumRecordAgeInSeconds": STREAM_RECORD_AGE_SECONDS,
                "DestinationConfig": {"OnFailure": {"Destination": _get_arn(STREAM_FAILURES)}},
            },
        }
        if base in STREAM_FILTERS:
            patterns = [{"Pattern": json.dumps(pattern)} for pattern in STREAM_FILTERS[base]]
            resources[f"{_camel(base)}StreamMapping"]["Properties"]["FilterCriteria"] = {"Filters": patterns}
    return resources


# --- alarms and dashboard --------------------------------------------------------------------------------------------


def _alarm(description: str, metric: Json, threshold: float, periods: Any = 1, period: int = 300) -> Json:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            **metric,
            "Period": period,
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def _custom(stage: Stage, name: str, statistic: str) -> Json:
    metric = metrics.METRICS[name]
    assert metric.dimensions == (metrics.SERVICE,), f"{name}: an alarm needs the metric's exact dimensions"
    return {
        "Namespace": metrics.NAMESPACE,
        "MetricName": name,
        "Dimensions": [{"Name": metrics.SERVICE, "Value": metrics.service_name(stage.name)}],
        "Statistic": statistic,
    }


def alarms(stage: Stage) -> Json:
    resources: Json = {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": f"{stage.prefix} alarms"}},
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}},
        },
    }
    for function in stage.functions:
        name = function_id(function)
        for kind in ("Errors", "Throttles"):
            metric = {
                "Namespace": "AWS/Lambda",
                "MetricName": kind,
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": name}}],
                "Statistic": "Sum",
            }
            resources[f"{name}{kind}Alarm"] = _alarm(f"{stage.function_name(function)}: {kind.lower()}", metric, 0)
    resources["TopupNotFinishedAlarm"] = _alarm(
        "The top-up of the period that began has segments left TopupDeadlineHours after it started: read the topup "
        "logs, then run the admin event run_topup",
        _custom(stage, "TopupSegmentsPending", "Minimum"),
        0,
        periods={"Ref": "TopupDeadlineHours"},
        period=3600,
    )
    resources["TopupScheduleFailedAlarm"] = _alarm(
        "A period was opened without its top-up's schedule (read the api_handler or admin logs): the 15-minute sweep "
        "starts the top-up anyway; open the period again from the console to schedule it",
        _custom(stage, "TopupScheduleFailures", "Sum"),
        0,
        period=3600,
    )
    resources["LedgerDriftAlarm"] = _alarm(
        "A certificate's balance differs from its ledger (admin reconcile): freeze it and investigate",
        _custom(stage, "LedgerDrift", "Sum"),
        0,
        period=3600,
    )
    return resources


def _metric_widget(title: str, lines: list[Any], x: int, y: int, stat: str = "Sum", **extra: Any) -> Json:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "metrics": lines,
            "stat": stat,
            "period": 300,
            "view": "timeSeries",
            **extra,
        },
    }


def dashboard_body(stage: Stage) -> Json:
    service = metrics.service_name(stage.name)
    ns = metrics.NAMESPACE
    names = [stage.function_name(f) for f in stage.functions]
    api = stage.function_name("api_handler")
    api_logs = f"/aws/lambda/{api}"

    def search(metric: str, label: str) -> list[Json]:
        schema = f"{{{ns},{metrics.SERVICE},code}}"
        query = f"SEARCH('{schema} MetricName=\"{metric}\" {metrics.SERVICE}=\"{service}\"', 'Sum', 300)"
        return [{"expression": query, "id": label, "label": ""}]

    widgets = [
        _metric_widget("Charges", [[ns, "Charges", metrics.SERVICE, service, {"label": "charges"}]], 0, 0),
        _metric_widget("Refusals by code", [search("Refusals", "refusals")], 12, 0),
        _metric_widget(
            "Top-up progress",
            [
                [ns, "TopupSegmentsPending", metrics.SERVICE, service, {"stat": "Maximum", "label": "segments left"}],
                [
                    ns,
                    "TopupCertificates",
                    metrics.SERVICE,
                    service,
                    {"stat": "Maximum", "label": "credited", "yAxis": "right"},
                ],
            ],
            0,
            6,
        ),
        _metric_widget("Ledger drift", [[ns, "LedgerDrift", metrics.SERVICE, service]], 12, 6),
        _metric_widget(
            "Function errors (and HTTP 5xx by code)",
            [["AWS/Lambda", "Errors", "FunctionName", n] for n in names] + [search("Errors", "errors")],
            0,
            12,
        ),
        _metric_widget("Throttles", [["AWS/Lambda", "Throttles", "FunctionName", n] for n in names], 12, 12),
        _metric_widget(
            "HTTP handler duration (ms)",
            [["AWS/Lambda", "Duration", "FunctionName", api, {"stat": s}] for s in ("p50", "p90", "p99")],
            0,
            18,
            stat="p50",
        ),
        {
            "type": "log",
            "x": 12,
            "y": 18,
            "width": 12,
            "height": 6,
            "properties": {
                "title": "Requests by route (JSON request logs)",
                "region": "${AWS::Region}",
                "view": "table",
                "query": f"SOURCE '{api_logs}' | filter ispresent(route) "
                "| stats count() as requests, pct(latency_ms, 50) as p50_ms, pct(latency_ms, 99) as p99_ms, "
                "max(latency_ms) as worst_ms by route | sort requests desc",
            },
        },
    ]
    return {"widgets": widgets}


def dashboard(stage: Stage) -> Json:
    return {
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": stage.prefix,
                "DashboardBody": {"Fn::Sub": json.dumps(dashboard_body(stage), ensure_ascii=False)},
            },
        }
    }


# --- the template ----------------------------------------------------------------------------------------------------

PARAMETERS: Json = {
    "AllowedOrigins": {
        "Type": "CommaDelimitedList",
        "Default": "",
        "AllowedPattern": "^(https://[a-z0-9.-]+(:[0-9]{1,5})?)?$",
        "Description": "Origins of web clients besides the Navigator's own site (which is always allowed), e.g. "
        "https://navigator.example.org for its custom domain: they may call the Function URL (CORS) and upload "
        "provider documents. Never '*'",
    },
    "AlarmEmail": {"Type": "String", "Default": "", "Description": "Who receives the alarms (empty: nobody yet)"},
    "TopupDeadlineHours": {
        "Type": "Number",
        "Default": 3,
        "MinValue": 1,
        "MaxValue": 24,
        "Description": "Hours after a period's start by which its top-up must have finished",
    },
}

CONDITIONS: Json = {
    "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
    site.HAS_ALLOWED_ORIGINS: {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "AllowedOrigins"}]}, ""]}]},
}


def outputs(stage: Stage) -> Json:
    found = {
        "FunctionUrl": {"Value": {"Fn::GetAtt": ["APIHandlerUrl", "FunctionUrl"]}},
        "UserPoolId": {"Value": {"Ref": "UserPool"}},
        "UserPoolClientId": {"Value": {"Ref": "UserPoolClient"}},
        "DocumentsBucketName": {"Value": {"Ref": "DocumentsBucket"}},
        "TopupFunctionArn": {"Value": _get_arn(function_id("topup"))},
        "PeriodScheduleGroupName": {"Value": {"Ref": "PeriodScheduleGroup"}},
        "PeriodStartSchedulerRoleArn": {"Value": _get_arn("PeriodStartSchedulerRole")},
        "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        "DashboardUrl": {
            "Value": {
                "Fn::Sub": "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"
                f"#dashboards:name={stage.prefix}"
            }
        },
    }
    found.update(site.outputs())
    if "admin" in stage.functions:
        found["AdminFunctionName"] = {"Value": {"Ref": function_id("admin")}}
    return found


def merge_template(stage: Stage) -> Json:
    """The template ``chalice package --merge-template`` merges into its own for ``stage``."""
    undeclared = set(stage.functions) - set(access.FUNCTIONS)
    if undeclared:
        raise ValueError(f"functions with no declared access in infra/access.py: {sorted(undeclared)}")
    missing = {"api_handler", "topup"} - set(stage.functions)
    if missing:
        raise ValueError(f"the template needs the functions {sorted(missing)}")
    access.check()
    resources: Json = dict(table_resources(stage.table_prefix))
    for function in stage.functions:
        resources[role_id(function)] = function_role(stage, function)
        resources[function_id(function)] = function_overrides(stage, function)
        # Chalice names the group after the function's resource (``${Topup}``): a cycle once the role names the
        # group, and a dangling reference for the HTTP handler, which Chalice renames to APIHandler.
        # Logs go with the stack (the ledger, retained with its table, is the record of every movement of money).
        resources[log_group_id(function)] = {
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": f"/aws/lambda/{stage.function_name(function)}"},
        }
    for part in (
        function_url(),
        user_pool(stage),
        documents_bucket(stage.prefix),
        site.site_resources(stage.prefix),
        cursor_secret(stage),
        period_schedules(stage),
        notification_bus(stage),
        alarms(stage),
        dashboard(stage),
    ):
        resources.update(part)
    if STREAM_CONSUMER in stage.functions:
        resources.update(stream_consumer(stage))
    return {
        "Description": f"ПФДО functions, stage {stage.name}: generated by infra/template.py (make package)",
        "Parameters": PARAMETERS,
        "Conditions": CONDITIONS,
        "Resources": resources,
        "Outputs": outputs(stage),
    }


def finalise(sam: Json) -> Json:
    """Chalice's merged template without its REST API: the Function URL is the only HTTP entry point."""
    final = copy.deepcopy(sam)
    for resource in REST_API_RESOURCES:
        final["Resources"].pop(resource, None)
    for output in REST_API_OUTPUTS:
        final.get("Outputs", {}).pop(output, None)
    if "RestAPI" in json.dumps(final):
        raise ValueError("something still refers to Chalice's REST API")
    return final


def problems(final: Json, stage: Stage) -> list[str]:
    """What would make the final template wrong for ``stage``; empty when it is right."""
    found = []
    resources = final["Resources"]
    found += [f"{rid} has no Type (merged into nothing?)" for rid, r in resources.items() if "Type" not in r]
    functions = {rid for rid, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"}
    expected = {function_id(f) for f in stage.functions}
    if functions != expected:
        found.append(f"functions {sorted(functions)} differ from the declared {sorted(expected)}")
    for function in stage.functions:
        if function_id(function) not in resources:
            continue
        properties = resources[function_id(function)].get("Properties", {})
        if properties.get("Role") != _get_arn(role_id(function)):
            found.append(f"{function} does not run as its own role")
        if log_group_id(function) not in resources:
            found.append(f"{function} has no log group: set log_retention_in_days for stage {stage.name}")
        if (properties.get("Runtime"), properties.get("Architectures")) != (stage.runtime, [stage.architecture]):
            found.append(f"{function} does not run on {stage.runtime} {stage.architecture}")
        if properties.get("Tracing") != "Active":
            found.append(f"{function} is not traced")
    if resources.get("APIHandler", {}).get("Properties", {}).get("Handler") != HTTP_HANDLER:
        found.append(f"the HTTP handler is not {HTTP_HANDLER}")
    return found


if __name__ == "__main__":
    print(json.dumps(merge_template(load_stage(sys.argv[1] if len(sys.argv) > 1 else "prod")), indent=2))
