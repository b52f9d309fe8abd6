"""Redacting URLs: the one place that decides what of a URL may be shown, logged or saved.

An endpoint or store URL can carry credentials: a user and password (`http://user:PASS@host/v1`, a Redis URL's
`redis://:PASS@host/0`) or a key in a query parameter (Azure's `?api-key=KEY`, a SAS token's `sig=...`). Every
display, log line, `--json` event and saved field shows the URL through `redact_url` (or, for free text that may
quote one, `redact_text`): the userinfo becomes `***` and each secret-looking parameter's value `***`, the rest
kept as written, so `http://***@host/v1?api-version=2024-06-01&api-key=***` still says where requests go. The real
URL is used only to connect. Redacting twice changes nothing, so a saved (redacted) URL compares equal to the
redacted live one.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote

MASK: Final = "***"
# Words that mark a parameter as a credential, matched case-insensitively against the words of its name
# (`X-Amz-Security-Token`, `client_secret`, `apiKey`), and against the whole name without separators (`apikey`).
SECRET_WORDS: Final = frozenset(
    {
        "key",
        "apikey",
        "token",
        "accesstoken",
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "sig",
        "signature",
        "auth",
        "authorization",
        "credential",
        "credentials",
    }
)
_URL: Final = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
_WORD: Final = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def redact_url(url: str) -> str:
    """`url` as it may be shown: its userinfo and secret-looking parameter values replaced by `***`.

    Text that is not a URL (`sqlite`, `off`) comes back as it was.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    rest, hash_mark, fragment = rest.partition("#")
    rest, question_mark, query = rest.partition("?")
    # Everything up to the last "@" before the query is userinfo: a password with a "/" in it is hidden too.
    user, at, place = rest.rpartition("@")
    shown = f"{MASK}@{place}" if at and user else rest
    return f"{scheme}://{shown}{question_mark}{_parameters(query)}{hash_mark}{_parameters(fragment)}"


def redact_text(text: str) -> str:
    """`text` with every URL in it redacted: for lines that may quote one (an error, a library's message)."""
    return _URL.sub(lambda found: redact_url(found.group()), text)


def is_secret_name(name: str) -> bool:
    """Whether a parameter named `name` holds a credential (`api-key`, `X-Amz-Signature`, `sig`, `apiKey`)."""
    words = [word.lower() for word in _WORD.findall(name)]
    return "".join(words) in SECRET_WORDS or any(word in SECRET_WORDS for word in words)


def _parameters(query: str) -> str:
    """A query (or fragment) with the value of each secret-looking `name=value` replaced; the rest as written."""
    if "=" not in query:
        return query
    return "&".join(_parameter(part) for part in query.split("&"))


def _parameter(part: str) -> str:
    """One `name=value`, its value hidden when the name looks like a credential's."""
    name, equals, value = part.partition("=")
    return f"{name}={MASK}" if equals and value and is_secret_name(unquote(name)) else part
