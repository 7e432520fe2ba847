"""Secrets out of text meant for people: log lines and ``alcor config show``.

What is masked (with ``***``): a URL's password (``postgresql://alcor:***@db/alcor``), the value
of a token header (``X-Auth-Token: ***``, ``X-Subject-Token``, ``X-Service-Token``), a Keystone
token wherever it stands (Fernet ``gAAAA...`` or JWS ``eyJ...``, as in Keystone's "Could not
find token: gAAAA..."), and the value of anything named like a secret (``password=***``,
``"token": "***"``, ``admin_password ***``...), the last by oslo.utils' ``mask_password``, which
OpenStack's services use for their own logs.
"""

from __future__ import annotations

import re

from oslo_utils import strutils

MASK = "***"
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
_TOKEN_HEADER = re.compile(
    r"(\bx-(?:auth|subject|service)-token\b['\"]?\s*[:=,]\s*b?['\"]?)[^'\"\s,}]+", re.IGNORECASE
)
_BARE_TOKEN = re.compile(  # Keystone's Fernet tokens, and JWS ones, wherever they stand
    r"\bgAAAA[A-Za-z0-9_=-]{20,}|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"
)
_SECRET_NAME = re.compile(r"password|passwd|token|secret|credential", re.IGNORECASE)


def mask(text: str) -> str:
    """``text`` with the secrets it holds masked; ``text`` itself when it holds none."""
    masked = _URL_PASSWORD.sub(rf"\1{MASK}@", text)
    masked = _TOKEN_HEADER.sub(rf"\1{MASK}", masked)
    masked = _BARE_TOKEN.sub(MASK, masked)
    return str(strutils.mask_password(masked, secret=MASK))


def is_secret(name: str) -> bool:
    """Whether an option or field of this name holds a secret (its value is never shown)."""
    return _SECRET_NAME.search(name) is not None
