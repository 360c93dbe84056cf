"""A history URL as it may be shown: its password masked wherever it is written (#24).

The password belongs in TFHOOK_HISTORY_PASSWORD (no child sees it) or a libpq password or
service file (PGPASSWORD works too, but every hook and Terraform see it); one in the URL still
works, but is never logged, counted or stored.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit

MASK = "****"
_KEYWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
_QUERY = re.compile(r"([?&]password=)[^&#]*")


def is_postgres(url: str) -> bool:
    """Whether `url` names a PostgreSQL database (a URL or libpq's key=value form)."""
    return url.startswith(("postgresql://", "postgres://")) or "=" in url.split("/", 1)[0]


def password(url: str) -> str | None:
    """The password written in `url`, if any (to scrub it from error messages)."""
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        return parts.password or query.get("password")
    found = _KEYWORD.search(url)
    return found.group(2).strip("'") if found else None


def with_password(url: str, secret: str | None) -> str:
    """`url` with `secret` (TFHOOK_HISTORY_PASSWORD) as its password= parameter, unless
    none is given or the URL has one already (never shown: `mask` hides it)."""
    if not secret or password(url) is not None:
        return url
    joined = "&" if "?" in url else "?"
    return f"{url}{joined}password={quote(secret, safe='')}"


def mask(url: str) -> str:
    """`url` with its password replaced by ****."""
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        if parts.password is not None:
            userinfo = f"{parts.username or ''}:{MASK}"
            url = url.replace(f"{parts.netloc.rpartition('@')[0]}@", f"{userinfo}@", 1)
        return _QUERY.sub(rf"\g<1>{MASK}", url)
    return _KEYWORD.sub(rf"\g<1>{MASK}", url)


def scrub(text: str, url: str) -> str:
    """`text` (an error message) without the password of `url`."""
    secret = password(url)
    return text.replace(secret, MASK) if secret else text
