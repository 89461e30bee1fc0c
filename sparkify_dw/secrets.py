"""What is secret, and masking it: the one place that knows.

Why one module: every message a command prints, every log record and every error line
goes through :func:`mask` with the values found here, so a new kind of secret (another
AWS variable, another spelling of a URL password) is added once and is hidden
everywhere: the loader's commands, Alembic's ``env.py``, the S3 reader and the cluster
commands.

The kinds of secret:

* a database URL's password, wherever it sits: the user info
  (``postgresql://u:secret@h/db``), a password-like query key (``?password=``,
  ``sslpassword``, ``pwd``, ``…_secret_key``, ``token``), or a ``key=value`` inside
  another query value (libpq's ``options=-c password=…``), plain or URL-escaped;
* AWS credentials in the environment: ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``
  and the older ``AWS_SECURITY_TOKEN`` (the AWS chain reads all three);
* dwh.cfg values under a secret-looking key (``[CLUSTER] DB_PASSWORD``, an ``[AWS]``
  ``SECRET``), wherever the file keeps them.

An access key id (``AWS_ACCESS_KEY_ID``) names a key, like a user name: it is not masked.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote, urlsplit

from sqlalchemy.engine import URL, make_url

__all__ = [
    "SECRET_ENV",
    "cfg_secrets",
    "env_secrets",
    "is_secret_name",
    "mask",
    "mask_line",
    "parse_database_url",
    "text_url_secrets",
    "url_secrets",
]

MASK = "***"

# Environment variables whose values are credentials (the AWS chain reads all three).
SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
# Names (URL query keys, dwh.cfg keys) whose values are secrets, whatever the driver or
# the file calls them: password, passwd, sslpassword, passphrase, pwd, secret, token,
# db_password, aws_secret_access_key, …
_SECRET_NAME = re.compile(
    r"(.*_)?((ssl)?pass(word|wd|phrase)?|pwd|secret(_access)?(_key)?|"
    r"(session_|security_)?token)",
    re.IGNORECASE,
)
# Inside a value such as libpq's ``options=-c password=…``: the text after the key.
_SECRET_IN_VALUE = re.compile(
    r"(?:pass(?:word|wd)?|pwd|secret|token)\s*[=:]\s*([^\s&]+)", re.IGNORECASE
)


def is_secret_name(name: str) -> bool:
    """Whether a URL query key or a dwh.cfg key names a secret."""
    return _SECRET_NAME.fullmatch(name) is not None


def _spellings(values: Iterable[str | None]) -> list[str]:
    """The values and their URL-escaped spellings (printed URLs escape them), longest
    first, so a secret that contains another is masked whole."""
    found = [v for v in values if v]
    escaped = [quote_plus(v) for v in found] + [quote(v, safe="") for v in found]
    return sorted({s for s in found + escaped if s}, key=len, reverse=True)


def env_secrets(environ: Mapping[str, str]) -> list[str]:
    """The AWS credential values set in ``environ`` (the configuration passes the
    process's environment: :func:`sparkify_dw.config.env_secrets`)."""
    return _spellings(environ.get(name) for name in SECRET_ENV)


def url_secrets(url: URL) -> list[str]:
    """Every password a SQLAlchemy URL carries: user info, password-like query keys, and
    ``key=value`` passwords inside other query values (libpq ``options``)."""
    found: list[str] = [str(url.password)] if url.password else []
    for key, value in url.query.items():
        for item in [value] if isinstance(value, str) else list(value):
            if is_secret_name(key):
                found.append(item)
            else:
                found += _SECRET_IN_VALUE.findall(item)
    return _spellings(found)


def parse_database_url(text: str) -> URL:
    """A database URL read as libpq reads it: the user info ends at the authority's *last*
    ``@``, so a password holding an unescaped ``@`` (``root:Secret@PW@host``) is the
    password, not part of the host name, and is masked as one.

    SQLAlchemy's own parser stops at the first ``@``; the user info's other ``@`` signs are
    escaped for it. Raises ``sqlalchemy.exc.ArgumentError`` as ``make_url`` does.
    """
    scheme, sep, rest = text.partition("://")
    if sep:
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        authority = rest[:end]
        if authority.count("@") > 1:
            userinfo, _, hostport = authority.rpartition("@")
            text = f"{scheme}://{userinfo.replace('@', '%40')}@{hostport}{rest[end:]}"
    return make_url(text)


def text_url_secrets(text: str) -> list[str]:
    """The password of a URL given as text (``scheme://user:password@host``), for URLs
    that are not database URLs (an S3 endpoint, a proxy); ``[]`` when there is none."""
    try:
        password = urlsplit(text).password
    except ValueError:
        return []
    return _spellings([password, unquote(password)] if password else [])


def cfg_secrets(parser: configparser.ConfigParser | None) -> list[str]:
    """The values of dwh.cfg's secret keys (``[CLUSTER] DB_PASSWORD``, an ``[AWS] SECRET``…),
    quotes stripped as the configuration reads them."""
    if parser is None:
        return []
    found: list[str] = []
    for section in parser.sections():
        for key, value in parser.items(section, raw=True):
            if is_secret_name(key):
                found += [value, value.strip().strip("'\"").strip()]
    return _spellings(found)


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***`` (longest first)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_line(text: str, secrets: Iterable[str]) -> str:
    """``text`` on one line with every one of ``secrets`` masked."""
    return mask(" ".join(text.split()), secrets)
