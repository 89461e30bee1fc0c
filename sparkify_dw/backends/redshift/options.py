"""Redshift's own settings: the role COPY reads S3 with, and where its manifests go.

COPY's ``REGION`` is the data's region, a shared setting (``[S3] REGION``): the S3 reader
of every engine needs it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sparkify_dw import settings_spec as spec
from sparkify_dw.errors import ConfigError
from sparkify_dw.settings_spec import EngineOptions, Setting
from sparkify_dw.uris import S3Uri, is_s3

ENV_IAM_ROLE_ARN = "SPARKIFY_DW_IAM_ROLE_ARN"
ENV_MANIFEST_PREFIX = "SPARKIFY_DW_MANIFEST_PREFIX"


def parse_manifest_prefix(text: str, origin: str) -> S3Uri:
    """Where COPY's manifests are written: an s3:// prefix."""
    if not is_s3(text):
        raise ConfigError(f"{origin}: MANIFEST_PREFIX must be an s3:// URI")
    return S3Uri.parse(text, origin)


@dataclass(frozen=True)
class RedshiftOptions(EngineOptions):
    """``iam_role_arn``: the role COPY assumes to read S3; ``manifest_prefix``: where the
    load writes the manifest naming exactly the files it read."""

    iam_role_arn: str | None = None
    manifest_prefix: S3Uri | None = None

    SPECS: ClassVar[tuple[Setting[Any], ...]] = (
        Setting(
            "iam_role_arn",
            spec.iam_role_arn,
            "the IAM role COPY reads S3 with",
            env=ENV_IAM_ROLE_ARN,
            cfg=("IAM_ROLE", "ARN"),
        ),
        Setting(
            "manifest_prefix",
            parse_manifest_prefix,
            "an s3:// prefix for COPY's manifests",
            env=ENV_MANIFEST_PREFIX,
            cfg=("S3", "MANIFEST_PREFIX"),
        ),
    )

    def s3_writes(self) -> tuple[S3Uri, ...]:
        return () if self.manifest_prefix is None else (self.manifest_prefix,)
