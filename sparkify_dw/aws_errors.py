"""AWS errors as one line that says what went wrong and what to do, never with a secret.

Why one module: every command that talks to AWS (the cluster commands, the S3
reader) turns boto3's exceptions into the same kinds of message. The error codes
are grouped by what the user can do about them: fix the credentials, ask for
permissions, pick another region, wait (throttling), or check a name (not found).
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

from .secrets import mask_line

__all__ = ["describe_aws_error", "error_code"]

CREDENTIAL_CODES = frozenset({
    "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
    "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "AuthFailure",
    "RequestExpired", "InvalidToken", "TokenRefreshRequired",
})
ACCESS_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
    "UnauthorizedOperationException", "AllAccessDisabled", "403", "Forbidden",
})
REGION_CODES = frozenset({
    "AuthorizationHeaderMalformed", "PermanentRedirect", "301",
    "IllegalLocationConstraintException",
})
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException", "RequestThrottled", "RequestThrottledException", "SlowDown",
})
NOT_FOUND_CODES = frozenset({
    "NoSuchBucket", "NoSuchKey", "404", "NotFound", "NoSuchEntity", "ClusterNotFound",
    "ClusterNotFoundFault", "ClusterSnapshotNotFound", "InvalidGroup.NotFound",
    "InvalidVpcID.NotFound",
})
QUOTA_CODES = frozenset({
    "ClusterQuotaExceeded", "ClusterQuotaExceededFault", "NumberOfNodesQuotaExceeded",
    "NumberOfNodesPerClusterLimitExceeded", "LimitExceeded", "LimitExceededException",
    "InsufficientClusterCapacity", "RulesPerSecurityGroupLimitExceeded",
    "SecurityGroupLimitExceeded", "VpcLimitExceeded",
})
TAKEN_CODES = frozenset({
    "ClusterAlreadyExists", "ClusterAlreadyExistsFault", "EntityAlreadyExists",
    "InvalidGroup.Duplicate", "ClusterSnapshotAlreadyExists",
})

# Code group -> what it means for the user, in the order they are tried.
_KINDS: tuple[tuple[frozenset[str], str], ...] = (
    (CREDENTIAL_CODES, "AWS rejected the credentials (check the access key, profile or session)"),
    (QUOTA_CODES, "AWS quota or capacity limit reached (delete unused clusters or ask for more)"),
    (TAKEN_CODES, "name already taken (choose another identifier in [PROVISION])"),
    (ACCESS_CODES, "not allowed by your IAM permissions"),
    (REGION_CODES, "the resource is in another region (set [S3] REGION in dwh.cfg or "
                   "$AWS_DEFAULT_REGION)"),
    (THROTTLING_CODES, "AWS is throttling the requests (wait a little and run it again)"),
    (NOT_FOUND_CODES, "not found (check the name and the region)"),
)

MISSING_CREDENTIALS = ("no AWS credentials found: set AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run `aws configure`")
NO_REGION = "no AWS region: set [S3] REGION in dwh.cfg, $AWS_DEFAULT_REGION or pass --region"


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError, '' when there is none."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe_aws_error(exc: BaseException, *, service: str = "AWS",
                       endpoint: str | None = None) -> str:
    """One line that says what went wrong with AWS and what to do about it.

    ``service`` names who refused a request no group covers; ``endpoint`` is the URL
    named when AWS cannot be reached (default: the one in the exception).
    """
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = mask_line(str(error.get("Message", "")))
        what = next((text for codes, text in _KINDS if code in codes),
                    f"{service} refused the request")
        return f"{what}: {exc.operation_name}: {code}: {message}".rstrip(": ")
    if isinstance(exc, NoCredentialsError):
        return MISSING_CREDENTIALS
    if isinstance(exc, PartialCredentialsError):
        return mask_line(f"incomplete AWS credentials: {exc}")
    if isinstance(exc, ProfileNotFound):
        return mask_line(f"AWS profile not found: {exc.kwargs.get('profile', '?')}")
    url = endpoint or str(getattr(exc, "kwargs", {}).get("endpoint_url") or "AWS")
    if isinstance(exc, ReadTimeoutError):
        return f"{url} stopped answering: check your network and run it again"
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | BotoConnectionError):
        return f"cannot reach {url}: check the region name and your network"
    if isinstance(exc, IncompleteReadError):
        return "the connection closed before the whole answer was read"
    if isinstance(exc, NoRegionError):
        return NO_REGION
    return "AWS client error: " + mask_line(str(exc))
