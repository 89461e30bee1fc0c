"""AWS errors as one line that says what went wrong and what to do, never with a secret.

Why one module: every command that talks to AWS (the cluster commands, the S3
reader) turns boto3's exceptions into the same kinds of message from one list of
error codes, grouped by what the user can do about them: fix the credentials, ask
for permissions, pick another region, wait (throttling), or check a name (not
found). :func:`describe_aws_error` words them for the cluster commands (naming the
operation and AWS's own message); :func:`describe_s3_error` words the same groups
for a source in S3, as a short reason after the object's URI.
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from .config import env_secrets
from .secrets import mask_line

__all__ = ["describe_aws_error", "describe_s3_error", "error_code"]

CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "AuthFailure",
        "RequestExpired",
        "InvalidToken",
        "TokenRefreshRequired",
    }
)
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedOperationException",
        "AllAccessDisabled",
        "403",
        "Forbidden",
    }
)
REGION_CODES = frozenset(
    {
        "AuthorizationHeaderMalformed",
        "PermanentRedirect",
        "301",
        "IllegalLocationConstraintException",
    }
)
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
NO_SUCH_BUCKET_CODES = frozenset({"NoSuchBucket"})
NO_SUCH_OBJECT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
NOT_FOUND_CODES = (
    NO_SUCH_BUCKET_CODES
    | NO_SUCH_OBJECT_CODES
    | frozenset(
        {
            "NoSuchEntity",
            "ClusterNotFound",
            "ClusterNotFoundFault",
            "ClusterSnapshotNotFound",
            "InvalidGroup.NotFound",
            "InvalidVpcID.NotFound",
        }
    )
)
# A conditional request's condition failed: for the S3 reader, an object read with
# ``IfMatch`` on its listed ETag was replaced after it was listed.
CHANGED_CODES = frozenset({"PreconditionFailed", "412"})
QUOTA_CODES = frozenset(
    {
        "ClusterQuotaExceeded",
        "ClusterQuotaExceededFault",
        "NumberOfNodesQuotaExceeded",
        "NumberOfNodesPerClusterLimitExceeded",
        "LimitExceeded",
        "LimitExceededException",
        "InsufficientClusterCapacity",
        "RulesPerSecurityGroupLimitExceeded",
        "SecurityGroupLimitExceeded",
        "VpcLimitExceeded",
    }
)
TAKEN_CODES = frozenset(
    {
        "ClusterAlreadyExists",
        "ClusterAlreadyExistsFault",
        "EntityAlreadyExists",
        "InvalidGroup.Duplicate",
        "ClusterSnapshotAlreadyExists",
    }
)

# Code group -> what it means for the user, in the order they are tried.
_KINDS: tuple[tuple[frozenset[str], str], ...] = (
    (CREDENTIAL_CODES, "AWS rejected the credentials (check the access key, profile or session)"),
    (QUOTA_CODES, "AWS quota or capacity limit reached (delete unused clusters or ask for more)"),
    (TAKEN_CODES, "name already taken (choose another identifier in [PROVISION])"),
    (ACCESS_CODES, "not allowed by your IAM permissions"),
    (
        REGION_CODES,
        "the resource is in another region (set [S3] REGION in dwh.cfg or $AWS_DEFAULT_REGION)",
    ),
    (THROTTLING_CODES, "AWS is throttling the requests (wait a little and run it again)"),
    (NOT_FOUND_CODES, "not found (check the name and the region)"),
)

# The same groups for a source in S3: a short reason after the object's URI. {code} is
# AWS's error code; a code in no group is "S3 refused the request: <operation>: …".
_S3_KINDS: tuple[tuple[frozenset[str], str], ...] = (
    (
        CREDENTIAL_CODES,
        "AWS rejected the credentials (check the access key, profile or session): {code}",
    ),
    (NO_SUCH_BUCKET_CODES, "no such bucket"),
    (NO_SUCH_OBJECT_CODES, "no such object"),
    (ACCESS_CODES, "access denied by S3 (check the IAM permissions): {code}"),
    (
        REGION_CODES,
        "the bucket is in another region (set [S3] REGION in dwh.cfg or "
        "$AWS_DEFAULT_REGION): {code}",
    ),
    (CHANGED_CODES, "the object changed after it was listed; run the load again"),
    (THROTTLING_CODES, "S3 is throttling the requests (wait a little and load again): {code}"),
)

MISSING_CREDENTIALS = (
    "no AWS credentials found: set AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run `aws configure`"
)
NO_REGION = "no AWS region: set [S3] REGION in dwh.cfg, $AWS_DEFAULT_REGION or pass --region"


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError, '' when there is none."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe_aws_error(
    exc: BaseException, *, service: str = "AWS", endpoint: str | None = None
) -> str:
    """One line that says what went wrong with AWS and what to do about it.

    ``service`` names who refused a request no group covers; ``endpoint`` is the URL
    named when AWS cannot be reached (default: the one in the exception).
    """
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = mask_line(str(error.get("Message", "")), env_secrets())
        what = next(
            (text for codes, text in _KINDS if code in codes), f"{service} refused the request"
        )
        return f"{what}: {exc.operation_name}: {code}: {message}".rstrip(": ")
    if isinstance(exc, NoCredentialsError):
        return MISSING_CREDENTIALS
    if isinstance(exc, PartialCredentialsError):
        return mask_line(f"incomplete AWS credentials: {exc}", env_secrets())
    if isinstance(exc, ProfileNotFound):
        return mask_line(f"AWS profile not found: {exc.kwargs.get('profile', '?')}", env_secrets())
    url = endpoint or str(getattr(exc, "kwargs", {}).get("endpoint_url") or "AWS")
    if isinstance(exc, ReadTimeoutError):
        return f"{url} stopped answering: check your network and run it again"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | BotoConnectionError):
        return f"cannot reach {url}: check the region name and your network"
    if isinstance(exc, IncompleteReadError):
        return "the connection closed before the whole answer was read"
    if isinstance(exc, NoRegionError):
        return NO_REGION
    return "AWS client error: " + mask_line(str(exc), env_secrets())


def describe_s3_error(exc: BaseException, endpoint: str = "S3") -> str:
    """What went wrong reading or writing S3 and what to do, in one line, with no secret.

    ``endpoint`` is the ``scheme://host[:port]`` named when S3 cannot be reached.
    """
    if isinstance(exc, ClientError):
        code = error_code(exc) or "Unknown"
        for codes, text in _S3_KINDS:
            if code in codes:
                return text.format(code=code)
        message = mask_line(str(exc.response.get("Error", {}).get("Message", "")), env_secrets())
        return f"S3 refused the request: {exc.operation_name}: {code}: {message}".rstrip(": ")
    if isinstance(exc, PartialCredentialsError):
        return "incomplete AWS credentials (a key id without its secret, or the reverse)"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | BotoConnectionError):
        return f"cannot reach {endpoint}: check the endpoint, region and network"
    if isinstance(exc, ReadTimeoutError):
        return f"{endpoint} stopped answering while the object was read"
    if isinstance(exc, IncompleteReadError):
        return "the connection closed before the whole object was read"
    return describe_aws_error(exc, service="S3", endpoint=endpoint)
