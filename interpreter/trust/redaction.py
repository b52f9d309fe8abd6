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
# A URL in free text: punctuation that ends it belongs to the sentence ("cannot reach http://h/v1: check ...").
_URL: Final = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]*[^\s'\"<>`.,:;!?)\]]")
_WORD: Final = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_PARAMETER: Final = re.compile(r"([^?&#=]*)=([^&#]*)")  # one name=value of a query or fragment
# One name=value after "?", "&" or "#" in free text: it ends where the text around it starts again.
_QUOTED_PARAMETER: Final = re.compile(r"(?<=[?&#])([^?&#=\s]+)=([^&#\s'\"<>`),]*[^&#\s'\"<>`),.:;!?])")


def redact_url(url: str) -> str:
    """`url` as it may be shown: its userinfo and secret-looking parameter values replaced by `***`.

    Text that is not a URL (`sqlite`, `off`) comes back as it was.
    """
    for start, end in reversed(secret_spans(url)):
        url = url[:start] + MASK + url[end:]
    return url


def redact_text(text: str) -> str:
    """`text` with every URL in it redacted, and every secret-looking parameter of a URL quoted in part (a server's
    `Invalid URL (POST /v1/?api-key=KEY)`): for lines that may quote one (an error, a library's message)."""
    text = _URL.sub(lambda found: redact_url(found.group()), text)
    return _QUOTED_PARAMETER.sub(_hidden_parameter, text)


def secret_spans(url: str) -> list[tuple[int, int]]:
    """Where the credentials of `url` are, as (start, end) offsets in order: its userinfo, then the value of each
    secret-looking parameter of its query and fragment. None when `url` is not a URL."""
    scheme_end = url.find("://")
    if scheme_end < 0:
        return []
    start = scheme_end + len("://")
    tail = min((found for found in (url.find("?", start), url.find("#", start)) if found >= 0), default=len(url))
    # Everything up to the last "@" before the query is userinfo: a password with a "/" in it is hidden whole.
    at = url.rfind("@", start, tail)
    spans = [(start, at)] if at > start else []
    for found in _PARAMETER.finditer(url, tail):
        if found.group(2) and is_secret_name(unquote(found.group(1))):
            spans.append(found.span(2))
    return spans


def is_secret_name(name: str) -> bool:
    """Whether a parameter named `name` holds a credential (`api-key`, `X-Amz-Signature`, `sig`, `apiKey`)."""
    words = [word.lower() for word in _WORD.findall(name)]
    return "".join(words) in SECRET_WORDS or any(word in SECRET_WORDS for word in words)


def _hidden_parameter(found: re.Match[str]) -> str:
    """A name=value found in free text, its value hidden when the name looks like a credential's."""
    return f"{found.group(1)}={MASK}" if is_secret_name(unquote(found.group(1))) else found.group()
