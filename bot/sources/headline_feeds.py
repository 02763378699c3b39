"""Headline feeds: the source list, conditional GET over aiohttp, and parsing to Headlines.

Owns three things:

- `load_feeds`: seeds/feeds.toml, validated by its model (`FeedsFile`: `[defaults]` and
  `[[feed]]` rows), each feed's base URL replaceable by FEED_BASE_OVERRIDES.
- `parse_body`: a response body to validated Headlines. RSS and Atom go through
  `feedparser.parse(bytes, response_headers=…)` (we do the HTTP; chardet lets it read GB
  feeds that declare no encoding); the CSRC's JSON list through its wire shape
  (`data.data.results[]{title, publishedTime (epoch ms), url}`). Empty, HTML, JSON-for-XML,
  ill-formed, wrongly-encoded or entry-less bodies raise `FeedError` with a reason for
  /status; an ill-formed feed that still yields good entries is used, with the problem
  reported. Nothing else escapes: a parser crash becomes a FeedError too.
- `FeedSource`: one live feed. GET with a timeout and a byte cap, `If-None-Match` /
  `If-Modified-Since` from the validators kept in Redis, 304 = nothing new. Validators are
  saved only after a body parsed, so a bad body is fetched again in full next time.

Reasons never carry URLs or headers, like bot.sources.http.
"""

from __future__ import annotations

import asyncio
import calendar
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import aiohttp
import feedparser
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.headlines.store import HeadlineStore
from bot.headlines.story import Headline
from bot.headlines.text import clean, plain_text
from bot.seedfiles import At, SeedFileError, load_seed_file
from bot.sources.base import SourceError
from bot.sources.http import decode_json, retry_after_s

FeedKind = Literal["rss", "atom", "csrc_json"]
KINDS: tuple[FeedKind, ...] = ("rss", "atom", "csrc_json")
FEED_ID = re.compile(r"^[a-z0-9_]{2,32}$")
MAX_LINK = 2000
MAX_GUID = 500
# Encodings a Chinese or English feed can really be in. When feedparser has to override a
# declared encoding and lands on anything else (MacRoman, cp1252…), the text is mojibake.
_PLAUSIBLE_ENCODINGS = re.compile(
    r"^(utf-?8|utf-?16|utf-?32|gb2312|gbk|gb18030|big5|big5-hkscs|euc-jp|euc-kr|"
    r"shift_jis|iso-2022-jp|us-ascii|ascii)",
    re.IGNORECASE,
)


class FeedConfigError(SeedFileError):
    """seeds/feeds.toml or FEED_BASE_OVERRIDES is wrong; the message names the field."""


class FeedError(SourceError):
    """A feed answered badly. `retry_after_s` is what the server asked for, if anything."""

    def __init__(self, source: str, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(source, reason)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class FeedConfig:
    id: str
    name: str
    kind: FeedKind
    base: str
    path: str
    interval_s: int
    language: str

    @property
    def url(self) -> str:
        return self.base.rstrip("/") + self.path


@dataclass(frozen=True, slots=True)
class FeedBook:
    """Every configured feed, with the limits they share."""

    feeds: list[FeedConfig]
    max_age: timedelta = timedelta(hours=48)
    max_bytes: int = 2_000_000
    max_backoff_s: int = 3600


HTTP_BASE = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")


def _http_base(value: object, where: str) -> str:
    if not isinstance(value, str) or not HTTP_BASE.match(value):
        raise FeedConfigError(f"{where}: base must be an http(s) URL without query, got {value!r}")
    return value.rstrip("/")


class FeedRow(BaseModel):
    """One ``[[feed]]`` of seeds/feeds.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=FEED_ID.pattern)
    name: str | None = None  # shown in alerts; the id when absent
    kind: FeedKind
    base: str
    path: str
    interval_s: int = Field(default=300, ge=10, le=86400)
    language: str = "en"

    @field_validator("base")
    @classmethod
    def _base(cls, base: str) -> str:
        if not HTTP_BASE.match(base):
            raise ValueError(f"must be an http(s) URL without query, got {base!r}")
        return base.rstrip("/")

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"must start with /, got {path[:40]!r}")
        return path

    def config(self) -> FeedConfig:
        return FeedConfig(
            self.id,
            self.name or self.id,
            self.kind,
            self.base,
            self.path,
            self.interval_s,
            self.language,
        )


class FeedDefaults(BaseModel):
    """``[defaults]`` of seeds/feeds.toml: the limits every feed shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_age_h: float = Field(default=48, gt=0, le=24 * 14)
    max_bytes: int = Field(default=2_000_000, ge=1024, le=50_000_000)
    max_backoff_s: int = Field(default=3600, ge=60, le=86400)


class FeedsFile(BaseModel):
    """seeds/feeds.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: FeedDefaults = Field(default_factory=FeedDefaults)
    feed: list[FeedRow] = []

    @field_validator("feed")
    @classmethod
    def _unique(cls, feeds: list[FeedRow]) -> list[FeedRow]:
        seen: set[str] = set()
        for i, row in enumerate(feeds):
            if row.id in seen:
                raise At((i, "id"), f"id {row.id!r} is used twice")
            seen.add(row.id)
        return feeds


def load_feeds(path: Path, overrides: Mapping[str, str] | None = None) -> FeedBook:
    """Read seeds/feeds.toml; `overrides` maps feed id -> base URL (FEED_BASE_OVERRIDES)."""
    doc = load_seed_file(path, FeedsFile, error=FeedConfigError)
    feeds = [row.config() for row in doc.feed]
    for fid, base in (overrides or {}).items():
        index = next((i for i, f in enumerate(feeds) if f.id == fid), None)
        if index is None:
            known = ", ".join(f.id for f in feeds)
            raise FeedConfigError(f"FEED_BASE_OVERRIDES: no feed {fid!r} (feeds: {known})")
        cfg = feeds[index]
        feeds[index] = FeedConfig(
            cfg.id,
            cfg.name,
            cfg.kind,
            _http_base(base, f"FEED_BASE_OVERRIDES {fid}"),
            cfg.path,
            cfg.interval_s,
            cfg.language,
        )
    limits = doc.defaults
    return FeedBook(
        feeds, timedelta(hours=limits.max_age_h), limits.max_bytes, limits.max_backoff_s
    )


# -- parsing -----------------------------------------------------------------------
@dataclass(slots=True)
class Parsed:
    """Headlines from one body; `problem` says what was wrong if the body was degraded."""

    headlines: list[Headline] = field(default_factory=list)
    problem: str | None = None


def _aware(value: datetime | None) -> datetime | None:
    if value is None or not 2000 <= value.year <= 2100:
        return None
    return value


def _struct_time(value: object) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return _aware(datetime.fromtimestamp(calendar.timegm(value), UTC))
    except (OverflowError, ValueError, OSError):
        return None


def _web_link(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    link = value.strip()
    if len(link) > MAX_LINK or not re.match(r"^https?://[^\s/?#]+", link, re.IGNORECASE):
        return None
    return None if re.search(r"[\s\x00-\x1f]", link) else link


def _guid(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    guid = clean(value)
    return guid if guid and len(guid) <= MAX_GUID else None


def _sniff(source: str, body: bytes) -> None:
    """Refuse bodies that cannot be a feed before the parser guesses at them."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    if not head:
        raise FeedError(source, "empty body")
    if head[:1] in (b"{", b"["):
        raise FeedError(source, "answered JSON, not a feed")
    if head.startswith((b"<!doctype html", b"<html")):
        raise FeedError(source, "answered HTML, not a feed")


_ENTITY_DECLARATION = re.compile(r"<!ENTITY", re.IGNORECASE)
_WIDE_CODECS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def _refuse_entity_declarations(source: str, body: bytes) -> None:
    """A DTD that declares entities is refused before any parser sees it: one flat entity
    repeated inside the size cap expands to gigabytes (40 KB cost 300 MB, 310 KB 4 GB).
    Feeds never need them. Checked in every encoding a parser could read the body in."""
    views = [body.decode("latin-1")]  # any ASCII-compatible encoding: UTF-8, GB18030, …
    if b"\x00" in body[:512]:  # UTF-16 or UTF-32, with or without a byte-order mark
        views += [body.decode(codec, errors="ignore") for codec in _WIDE_CODECS]
    if any(_ENTITY_DECLARATION.search(view) for view in views):
        raise FeedError(source, "refused: the document declares DTD entities")


_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9_.-]+)["']""")


def _repair_utf8(body: bytes, headers: Mapping[str, str]) -> tuple[bytes, int]:
    """A UTF-8 feed with a few stray bytes: each becomes U+FFFD (its story is dropped
    later, named in /status) rather than the whole feed being read in another encoding
    and refused. Returns the body and how many bytes were replaced."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in body[:512]:
        return body, 0  # UTF-16/32: not ours to repair
    declared = _DECLARED.match(body)
    charset = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    names = [declared.group(1).decode().lower()] if declared else []
    if "charset=" in charset.lower():
        names.append(charset.lower().split("charset=", 1)[1].strip().strip('"'))
    if any(n.replace("-", "") not in ("utf8", "") for n in names):
        return body, 0  # declared as something else: feedparser's job
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        wide = sum(1 for ch in text if ord(ch) > 127)
        if not declared and bad > max(8, wide // 100):
            return body, 0  # undeclared and not UTF-8 at all (GB2312…): feedparser sniffs it
        return text.encode("utf-8"), bad
    return body, 0


def _short(exc: object) -> str:
    text = str(exc).rsplit(":", 1)[-1].strip()
    return f"{type(exc).__name__}: {text[:60]}" if text else type(exc).__name__


def _headline(cfg: FeedConfig, title: str, link: str | None, guid: str | None, at: Any) -> Headline:
    return Headline(cfg.id, cfg.name, title, link, guid, at, cfg.language)


def parse_feed(cfg: FeedConfig, body: bytes, headers: Mapping[str, str], url: str) -> Parsed:
    """RSS or Atom bytes to headlines, through feedparser."""
    _sniff(cfg.id, body)
    _refuse_entity_declarations(cfg.id, body)
    body, replaced = _repair_utf8(body, headers)
    response_headers = {"content-location": url}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if content_type:
        response_headers["content-type"] = content_type
    doc = feedparser.parse(body, response_headers=response_headers)
    entries = doc.get("entries") or []
    headlines: list[Headline] = []
    for entry in entries:
        raw_title = entry.get("title")
        if not isinstance(raw_title, str):
            continue
        detail = entry.get("title_detail") or {}
        is_html = "html" in str(detail.get("type", "")).lower()
        title = plain_text(raw_title, is_html)
        link, guid = _web_link(entry.get("link")), _guid(entry.get("id"))
        if not title or not (link or guid):
            continue  # a story needs words and an identity; a truncated tail has neither
        published = _struct_time(entry.get("published_parsed")) or _struct_time(
            entry.get("updated_parsed")
        )
        if "\ufffd" in raw_title:
            continue  # an undecodable byte in this story: it goes, the feed stays
        headlines.append(_headline(cfg, title, link, guid, published))
    dropped = len(entries) - len(headlines)
    problem: str | None = None
    if replaced:
        problem = f"{replaced} undecodable byte(s) in the feed"
    if doc.get("bozo"):
        exc = doc.get("bozo_exception")
        kind = type(exc).__name__
        if kind == "CharacterEncodingOverride":
            encoding = str(doc.get("encoding") or "")
            if not _PLAUSIBLE_ENCODINGS.match(encoding):
                raise FeedError(cfg.id, f"wrongly encoded (declared encoding fails; {encoding}?)")
            problem = f"encoding mismatch: {str(exc)[:80]}"
        elif kind != "NonXMLContentType":  # a good feed served as text/html is still good
            if not headlines:
                raise FeedError(cfg.id, f"malformed feed ({_short(exc)})")
            problem = f"malformed feed ({_short(exc)})"
    if not headlines:
        if entries and replaced:
            raise FeedError(
                cfg.id, f"wrongly encoded ({replaced} undecodable bytes); no story left"
            )
        if entries:
            raise FeedError(cfg.id, f"no usable entries ({dropped} without title or link)")
        if not doc.get("version"):
            raise FeedError(cfg.id, "not a feed (no RSS or Atom root)")
        return Parsed([], None)  # a well-formed feed with nothing in it today
    if problem:
        problem += f"; {len(headlines)} stories used" + (f", {dropped} dropped" if dropped else "")
    return Parsed(headlines, problem)


def _csrc_time(value: object) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int | float):
        return None
    try:
        return _aware(datetime.fromtimestamp(value / 1000, UTC))
    except (OverflowError, ValueError, OSError):
        return None


def parse_csrc(cfg: FeedConfig, body: bytes, headers: Mapping[str, str], url: str) -> Parsed:
    """The CSRC's JSON list: data.data.results[]{title, publishedTime (epoch ms), url}."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    doc = decode_json(cfg.id, body, content_type)
    data = doc.get("data") if isinstance(doc, dict) else None
    inner = data.get("data") if isinstance(data, dict) else None
    results = inner.get("results") if isinstance(inner, dict) else None
    if results is None and isinstance(data, dict):
        # RSSHub reads `res.data.data.results` off its HTTP wrapper, whose `.data` is the
        # body; DATA.md writes the body as data.data.results. Accept both nestings.
        results = data.get("results")
    if not isinstance(results, list):
        raise FeedError(cfg.id, "unexpected JSON shape (no data.data.results list)")
    headlines = []
    for item in results:
        if not isinstance(item, dict) or not isinstance(item.get("title"), str):
            continue
        title = clean(item["title"])
        raw_url = item.get("url")
        if isinstance(raw_url, str) and raw_url.startswith("/") and not raw_url.startswith("//"):
            raw_url = cfg.base + raw_url
        link = _web_link(raw_url)
        if not title or not link:
            continue
        headlines.append(_headline(cfg, title, link, link, _csrc_time(item.get("publishedTime"))))
    if results and not headlines:
        raise FeedError(cfg.id, f"no usable results ({len(results)} without title or url)")
    dropped = len(results) - len(headlines)
    return Parsed(headlines, f"{dropped} malformed results dropped" if dropped else None)


def parse_body(cfg: FeedConfig, body: bytes, headers: Mapping[str, str], url: str) -> Parsed:
    """Any feed body to headlines; raises FeedError (and only FeedError) when unusable."""
    try:
        if cfg.kind == "csrc_json":
            return parse_csrc(cfg, body, headers, url)
        return parse_feed(cfg, body, headers, url)
    except FeedError:
        raise
    except SourceError as exc:
        raise FeedError(cfg.id, exc.reason) from None
    except Exception as exc:
        # feedparser's loose parser has met inputs it could not handle; a bad feed must
        # not take the watcher down with it.
        raise FeedError(cfg.id, f"parser failed ({type(exc).__name__})") from None


# -- fetching ------------------------------------------------------------------------
@dataclass(slots=True)
class Fetched:
    """What one poll of a feed brought: stories, or nothing new (304)."""

    headlines: list[Headline] = field(default_factory=list)
    not_modified: bool = False
    problem: str | None = None


class FeedSource:
    """One live feed over a caller-owned aiohttp session."""

    def __init__(
        self,
        cfg: FeedConfig,
        session: aiohttp.ClientSession,
        store: HeadlineStore,
        *,
        timeout_s: float,
        max_bytes: int,
    ) -> None:
        self.cfg = cfg
        self.id = cfg.id
        self.name = cfg.name
        self.interval = timedelta(seconds=cfg.interval_s)
        self.session = session
        self.store = store
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes

    def wake_at(self, now: datetime) -> datetime | None:
        """A live feed has no news schedule: it is polled on its interval."""
        return None

    async def fetch(self, now: datetime) -> Fetched:
        """One conditional GET; raises FeedError when the feed answered badly."""
        known = await self.store.validators(self.id)
        headers = {"User-Agent": "Mozilla/5.0 (divergence-bot headlines)", "Accept": "*/*"}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
        url = self.cfg.url
        try:
            async with self.session.get(url, headers=headers, timeout=self.timeout) as resp:
                if resp.status == 304:
                    return Fetched(not_modified=True)
                if resp.status != 200:
                    asked = retry_after_s(resp.headers.get("Retry-After"), now)
                    raise FeedError(self.id, f"HTTP {resp.status}", asked)
                body = await self._read(resp)
                answer = {"Content-Type": resp.headers.get("Content-Type", "")}
                etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
        except TimeoutError:
            raise FeedError(self.id, f"timed out ({self.timeout_s:g}s)") from None
        except aiohttp.ClientError as exc:
            raise FeedError(self.id, f"network error ({type(exc).__name__})") from None
        # feedparser is synchronous and a 2 MB feed takes a moment: keep the loop free.
        parsed = await asyncio.to_thread(parse_body, self.cfg, body, answer, url)
        await self.store.save_validators(self.id, etag, modified)
        return Fetched(parsed.headlines, problem=parsed.problem)

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        too_big = f"body over {self.max_bytes:,} bytes"
        if resp.content_length is not None and resp.content_length > self.max_bytes:
            raise FeedError(self.id, too_big)
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                raise FeedError(self.id, too_big)
            chunks.append(chunk)
        return b"".join(chunks)
