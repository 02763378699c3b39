"""Text as the classifier and the dedup keys see it: one form for every width and case.

- `fold` is what keywords are matched against: NFKC (full-width ＩＰＯ and ２ become IPO
  and 2), case-folded, whitespace collapsed, and no space left between two CJK characters
  (Chinese is written without spaces; a feed that puts one in must still match).
- `plain_text` turns a feed title that may carry HTML (`title_detail.type` text/html) into
  the plain text a renderer will escape: tags dropped, entities decoded, control
  characters removed.
- `canonical_link` and `title_key` give the same story the same key across feeds.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_TITLE = 300
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_SPACES = re.compile(r"\s+")
# C0/C1 controls and the Unicode replacement character: never part of a real headline.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
# Query parameters that say where a click came from, not which story it is.
_TRACKING = re.compile(
    r"^(utm_.*|spm|fbclid|gclid|dclid|mc_cid|mc_eid|igshid|ref|ref_src|from|source|"
    r"module|pgtype|share|cmp|campaign|rss|feed|ocid|_ga|ncid|sr_share|wt\.mc_id)$"
)


def fold(text: str) -> str:
    """The matching form: NFKC, case-folded, spaces collapsed, none between CJK characters."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _SPACES.sub(" ", text).strip()
    return _CJK_GAP.sub("", text)


def clean(text: str) -> str:
    """Plain text on one line: control characters dropped, whitespace collapsed, capped."""
    text = _SPACES.sub(" ", _CONTROL.sub("", text)).strip()
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1].rstrip() + "…"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(text: str, is_html: bool) -> str:
    """A title as plain text; HTML titles lose their tags and have entities decoded."""
    if is_html:
        parser = _Text()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
    return clean(text)


def canonical_link(link: str) -> str | None:
    """The link with tracking parameters, fragment and default port removed; the scheme
    and host lower-cased, http and https treated alike. None if it is not a web link."""
    try:
        parts = urlsplit(link.strip())
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.match(k.lower())
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", netloc, path, urlencode(query), ""))


def title_key(title: str) -> str | None:
    """The title with case, width, spaces and punctuation gone; None when too short to
    name one story (a bare "Notice" or "公告" must not merge unrelated items)."""
    folded = fold(title)
    kept = "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")
    return kept if len(kept) >= 8 else None
