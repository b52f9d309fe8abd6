"""Links in the model's markdown, made honest: a link shows where it goes, and only web addresses are clickable.

`[https://docs.python.org/3/](https://evil.example/payload.sh)` would show the first address and open the second.
So a link whose text is not its target is drawn `text (target)`; a link to anything but http(s) (`ssh:`, `smb:`,
`ms-msdt:`, ...; markdown-it already refuses `file:`, `javascript:` and `data:`) is drawn as text, not clickable,
its target beside it. An image is drawn as a link to its source, by the same rule.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from markdown_it.token import Token

WEB_SCHEMES = frozenset({"http", "https"})


def honest(children: list[Token]) -> list[Token]:
    """An inline token's children with every link (and image) shown as `honest_link` says."""
    shown: list[Token] = []
    target: str | None = None  # the href of the link being read: links do not nest in markdown
    text: list[str] = []
    for token in _images_as_links(children):
        if token.type == "link_open":
            target, text = str(token.attrs.get("href", "")), []
            shown += [token] if _web(target) else []
        elif token.type == "link_close" and target is not None:
            shown += [token] if _web(target) else []
            shown += [] if _says(" ".join(text), target) else [_text(f" ({target})")]
            target = None
        else:
            text += [token.content] if target is not None and token.type in ("text", "code_inline") else []
            shown.append(token)
    return shown


def _images_as_links(children: list[Token]) -> list[Token]:
    """`children` with each image as a link to its source, its alternative text the link's text."""
    tokens: list[Token] = []
    for token in children:
        if token.type != "image":
            tokens.append(token)
            continue
        source = str(token.attrs.get("src", ""))
        link = Token("link_open", "a", 1, attrs={"href": source})
        tokens += [link, _text(token.content), Token("link_close", "a", -1)]
    return tokens


def _web(target: str) -> bool:
    """Whether `target` is a web address (the only kind made clickable)."""
    return urlsplit(target).scheme.lower() in WEB_SCHEMES


def _says(text: str, target: str) -> bool:
    """Whether a link's text already says where it goes: the target itself (a trailing slash aside), or an
    e-mail address whose target is its mailto:."""
    text = text.strip()
    return text.rstrip("/") == target.rstrip("/") or f"mailto:{text}" == target


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)
