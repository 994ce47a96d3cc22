"""The Navigator's site in AWS: a private S3 bucket behind CloudFront (origin access control), the security headers it
answers with, and the origins the API and the documents bucket accept (the site's, never ``*``).

The same security headers, with the local API in the CSP, are what `make run` serves the site with
(devtools/web_server.py), so the browser tests run under the policy the public site has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Json = dict[str, Any]

# CloudFront's managed cache policy "CachingOptimized" (gzip and brotli, query strings and cookies not in the key).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
HSTS_SECONDS = 2 * 365 * 24 * 3600
REFERRER_POLICY = "strict-origin-when-cross-origin"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"
# The site's origin, as the API's CORS and the documents bucket's CORS name it.
SITE_ORIGIN = "https://${SiteDistribution.DomainName}"
# Function URLs of the stack's region: the API the site calls (a wildcard of the region, because the distribution
# cannot name the URL without a cycle: the function's CORS names the distribution).
FUNCTION_URLS = "https://*.lambda-url.${AWS::Region}.on.aws"
DISTRIBUTION_ARN = "arn:aws:cloudfront::${AWS::AccountId}:distribution/${SiteDistribution}"
HOSTED_UI = "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"


def documents_bucket_name(prefix: str) -> str:
    """The documents bucket's name (an ``Fn::Sub`` string), fixed from the stage, the account and the region rather
    than generated: the site's CSP must name the bucket, and the bucket's CORS names the site, so a ``Ref`` on either
    side would be a dependency cycle."""
    return f"{prefix}-documents-${{AWS::AccountId}}-${{AWS::Region}}"


def document_uploads(prefix: str) -> tuple[str, ...]:
    """Where a provider's browser posts its documents (the pre-signed POST of chalicelib/storage/documents.py): the
    documents bucket by its virtual-hosted name, global and regional (boto3 signs for either, by its version)."""
    bucket = documents_bucket_name(prefix)
    return (f"https://{bucket}.s3.amazonaws.com", f"https://{bucket}.s3.${{AWS::Region}}.amazonaws.com")


def content_security_policy(
    api_origins: Sequence[str], auth_origins: Sequence[str] = (), upload_origins: Sequence[str] = ()
) -> str:
    """Only the site's own files run; the page talks to the API, the sign-in's token endpoint and the documents
    bucket (uploads) and nothing else; no framing, no plugins, no inline script or style."""
    connect = " ".join(["'self'", *api_origins, *auth_origins, *upload_origins])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def local_headers(api_origin: str, upload_origin: str | None = None) -> dict[str, str]:
    """The headers `make run` serves the site with: those of the response-headers policy below (but HSTS, which a
    browser ignores over http), with the local API and the local S3 in ``connect-src``."""
    return {
        "Content-Security-Policy": content_security_policy([api_origin], (), [upload_origin] if upload_origin else []),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": REFERRER_POLICY,
        "Permissions-Policy": PERMISSIONS_POLICY,
    }


def response_headers_policy(prefix: str) -> Json:
    csp = content_security_policy([FUNCTION_URLS], [HOSTED_UI], document_uploads(prefix))
    return {
        "Type": "AWS::CloudFront::ResponseHeadersPolicy",
        "Properties": {
            "ResponseHeadersPolicyConfig": {
                "Name": f"{prefix}-site-security",
                "Comment": f"{prefix}: security headers of the Navigator",
                "SecurityHeadersConfig": {
                    "ContentSecurityPolicy": {"ContentSecurityPolicy": {"Fn::Sub": csp}, "Override": True},
                    "StrictTransportSecurity": {
                        "AccessControlMaxAgeSec": HSTS_SECONDS,
                        "IncludeSubdomains": True,
                        "Preload": True,
                        "Override": True,
                    },
                    "ContentTypeOptions": {"Override": True},
                    "FrameOptions": {"FrameOption": "DENY", "Override": True},
                    "ReferrerPolicy": {"ReferrerPolicy": REFERRER_POLICY, "Override": True},
                },
                "CustomHeadersConfig": {
                    "Items": [{"Header": "Permissions-Policy", "Value": PERMISSIONS_POLICY, "Override": True}]
                },
            }
        },
    }


def site_resources(prefix: str) -> Json:
    """The bucket (private: only this distribution may read it, signed by origin access control), the distribution
    and its response-headers policy."""
    return {
        "SiteBucket": {
            "Type": "AWS::S3::Bucket",
            # The files are rebuilt by every deployment; the bucket is kept if the stack goes, like the others.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
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
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "expire-replaced-versions",
                            "Status": "Enabled",
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                        }
                    ]
                },
            },
        },
        "SiteBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "SiteBucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "CloudFrontReadsThroughOriginAccessControl",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "Action": "s3:GetObject",
                            "Resource": {"Fn::Sub": "${SiteBucket.Arn}/*"},
                            "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": DISTRIBUTION_ARN}}},
                        },
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [{"Fn::GetAtt": ["SiteBucket", "Arn"]}, {"Fn::Sub": "${SiteBucket.Arn}/*"}],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                },
            },
        },
        "SiteOriginAccessControl": {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {
                "OriginAccessControlConfig": {
                    "Name": f"{prefix}-site",
                    "Description": f"{prefix}: CloudFront signs its requests to the site bucket",
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            },
        },
        "SiteResponseHeadersPolicy": response_headers_policy(prefix),
        "SiteDistribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {
                "DistributionConfig": {
                    "Comment": f"{prefix}: the Navigator",
                    "Enabled": True,
                    "HttpVersion": "http2and3",
                    "IPV6Enabled": True,
                    "PriceClass": "PriceClass_100",
                    "DefaultRootObject": "index.html",
                    "Origins": [
                        {
                            "Id": "site",
                            "DomainName": {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]},
                            "OriginAccessControlId": {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]},
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                    "DefaultCacheBehavior": {
                        "TargetOriginId": "site",
                        "ViewerProtocolPolicy": "redirect-to-https",
                        "AllowedMethods": ["GET", "HEAD"],
                        "CachedMethods": ["GET", "HEAD"],
                        "Compress": True,
                        "CachePolicyId": CACHING_OPTIMIZED,
                        "ResponseHeadersPolicyId": {"Ref": "SiteResponseHeadersPolicy"},
                    },
                }
            },
        },
    }


def hosted_ui_domain(prefix: str) -> Json:
    """The Cognito Hosted UI's domain (``https://PREFIX-ACCOUNT.auth.REGION.amazoncognito.com``): the sign-in page
    the Navigator sends parents to (authorization code flow with PKCE)."""
    return {
        "UserPoolDomain": {
            "Type": "AWS::Cognito::UserPoolDomain",
            "Properties": {"UserPoolId": {"Ref": "UserPool"}, "Domain": {"Fn::Sub": f"{prefix}-${{AWS::AccountId}}"}},
        }
    }


# The web client's OAuth settings: code flow only (PKCE in the page; the client has no secret), back to the site.
OAUTH_CLIENT: Json = {
    "AllowedOAuthFlowsUserPoolClient": True,
    "AllowedOAuthFlows": ["code"],
    "AllowedOAuthScopes": ["openid", "email", "profile"],
    "SupportedIdentityProviders": ["COGNITO"],
    "CallbackURLs": [{"Fn::Sub": f"{SITE_ORIGIN}/"}],
    "LogoutURLs": [{"Fn::Sub": f"{SITE_ORIGIN}/"}],
}

HAS_ALLOWED_ORIGINS = "HasAllowedOrigins"


def _origins(separator: str, template: str) -> Json:
    """The site's origin, then the extra ``AllowedOrigins`` when some are given, joined by ``separator`` inside
    ``template`` (``{}`` marks where they go)."""
    extra = {"Origins": {"Fn::Join": [separator, {"Ref": "AllowedOrigins"}]}}
    return {
        "Fn::If": [
            HAS_ALLOWED_ORIGINS,
            {"Fn::Sub": [template.format(f"{SITE_ORIGIN}{separator}${{Origins}}"), extra]},
            {"Fn::Sub": template.format(SITE_ORIGIN)},
        ]
    }


def cors_origins_variable() -> Json:
    """PFDO_CORS_ORIGINS of the HTTP handler: a JSON list, the site's origin first."""
    return _origins('","', '["{}"]')


def cors_origins_list() -> Json:
    """The same origins as a list (the documents bucket's CORS rule)."""
    return {"Fn::Split": [",", _origins(",", "{}")]}


def outputs() -> Json:
    return {
        "SiteUrl": {"Value": {"Fn::Sub": f"{SITE_ORIGIN}/"}},
        "SiteBucketName": {"Value": {"Ref": "SiteBucket"}},
        "SiteDistributionId": {"Value": {"Ref": "SiteDistribution"}},
        "HostedUiDomain": {"Value": {"Fn::Sub": HOSTED_UI}},
    }
