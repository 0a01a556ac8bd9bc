"""Translate boto3/botocore failures into `SinkError`s that say which setting to check.

botocore is imported inside `to_sink_error`, which only runs after boto3 has been imported for an upload.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gpt_image_mcp.errors import SinkError

if TYPE_CHECKING:
    from gpt_image_mcp_s3.settings import S3Settings

CREDENTIALS_HINT = (
    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), "
    "AWS_PROFILE, or the instance/container role"
)
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
        "AuthorizationHeaderMalformed",
    }
)
PERMISSION_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "AccountProblem", "Forbidden", "403"})
MISSING_BUCKET_CODES = frozenset({"NoSuchBucket", "404", "NotFound"})
URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s\"']+@")


def to_sink_error(exc: Exception, settings: S3Settings, key: str | None = None) -> SinkError:
    """A `SinkError` for a boto3 failure: what went wrong and which setting to check, never a secret."""
    from botocore import exceptions as boto

    where = settings.endpoint_label
    target = f"s3://{settings.bucket}/{key}" if key else f"bucket {settings.bucket!r}"

    if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
        return SinkError(f"S3 sink: no usable AWS credentials were found; {CREDENTIALS_HINT}")
    if isinstance(exc, boto.ProfileNotFound):
        return SinkError(f"S3 sink: {exc}; check AWS_PROFILE (or AWS_DEFAULT_PROFILE) and ~/.aws/config")
    if isinstance(exc, boto.CredentialRetrievalError | boto.TokenRetrievalError):
        return SinkError(f"S3 sink: AWS credentials could not be obtained ({type(exc).__name__}); {CREDENTIALS_HINT}")
    if isinstance(exc, boto.ConnectTimeoutError | boto.ReadTimeoutError):
        return SinkError(
            f"S3 sink: {where} did not answer in time while uploading to {target}; check S3_ENDPOINT_URL, "
            "S3_REGION and the network (timeouts: S3_CONNECT_TIMEOUT_SECONDS, S3_READ_TIMEOUT_SECONDS)"
        )
    if isinstance(exc, boto.SSLError):
        return SinkError(f"S3 sink: TLS handshake with {where} failed; check S3_ENDPOINT_URL (http vs https)")
    if isinstance(exc, boto.EndpointConnectionError | boto.ConnectionClosedError | boto.HTTPClientError):
        return SinkError(
            f"S3 sink: could not connect to {where} to upload to {target}; check S3_ENDPOINT_URL, S3_REGION "
            "and that the store is running and reachable"
        )
    if isinstance(exc, boto.ClientError):
        return _client_error(exc, settings, where, target)
    if isinstance(exc, boto.BotoCoreError):
        detail = URL_CREDENTIALS.sub(r"\1***@", str(exc))
        return SinkError(f"S3 sink: upload to {target} at {where} failed: {type(exc).__name__}: {detail}")
    return SinkError(f"S3 sink: upload to {target} at {where} failed: {type(exc).__name__}")


def _client_error(exc: Exception, settings: S3Settings, where: str, target: str) -> SinkError:
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {}) or {}
    meta = response.get("ResponseMetadata", {}) or {}
    code = str(error.get("Code") or "")
    status = meta.get("HTTPStatusCode")
    request_id = meta.get("RequestId")
    # S3's message only: str(ClientError) would also name the operation and botocore internals.
    detail = str(error.get("Message") or code or "unknown error")

    if code in MISSING_BUCKET_CODES:
        message = (
            f"S3 sink: bucket {settings.bucket!r} does not exist at {where}; create it or fix S3_BUCKET "
            "(and S3_REGION / S3_ENDPOINT_URL if it lives elsewhere)"
        )
    elif code == "InvalidBucketName":
        message = f"S3 sink: {settings.bucket!r} is not a valid bucket name; fix S3_BUCKET"
    elif code in CREDENTIAL_CODES:
        message = f"S3 sink: {where} rejected the AWS credentials ({code}); {CREDENTIALS_HINT}"
    elif code in PERMISSION_CODES:
        message = (
            f"S3 sink: access denied writing {target} ({code}); the credentials need s3:PutObject and "
            "s3:GetObject on the bucket and prefix (check the IAM or bucket policy, S3_BUCKET and S3_PREFIX)"
        )
    elif code in {"PermanentRedirect", "IllegalLocationConstraintException"}:
        message = f"S3 sink: bucket {settings.bucket!r} is in another region; set S3_REGION to the bucket's region"
    elif isinstance(status, int) and status >= 500:
        message = f"S3 sink: {where} is unavailable ({code or status}: {detail}); try again later"
    else:
        message = f"S3 sink: {where} refused the upload to {target} ({code or status}: {detail})"
    return SinkError(message, http_status=status, request_id=request_id)
