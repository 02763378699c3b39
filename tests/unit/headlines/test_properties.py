"""Property tests of the parser path: random bytes and random mutations of valid feeds
never let an exception out (only FeedError), never yield a malformed story, and garbage
never raises an alert."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import REPO_ROOT
from bot.headlines.alert import headline_alert
from bot.headlines.classifier import load_rules
from bot.headlines.story import Headline
from bot.sources.headline_feeds import FeedConfig, FeedError, Parsed, parse_body
from tests.fakes.feeds import feed_fixture

RULES = load_rules(REPO_ROOT / "seeds" / "headline_rules.toml")
NOW = datetime(2026, 1, 15, 4, 0, tzinfo=UTC)
RSS = FeedConfig(
    "scmp_china_economy", "SCMP", "rss", "https://www.scmp.com", "/rss/1/feed", 300, "en"
)
ATOM = FeedConfig("hkex_news", "HKEX", "atom", "https://www.hkex.com.hk", "/a", 300, "zh")
CSRC = FeedConfig(
    "csrc", "CSRC", "csrc_json", "http://www.csrc.gov.cn", "/searchList/c1", 300, "zh"
)
VALID = {
    RSS: feed_fixture("scmp-china-economy.synthetic.xml"),
    ATOM: feed_fixture("rsshub-csrc.synthetic.atom"),
    CSRC: feed_fixture("csrc-searchlist.synthetic.json"),
}
# A valid feed whose stories match no category: no mutation of it may raise an alert.
NEUTRAL = feed_fixture("rthk-cfinance.synthetic.xml").replace(
    "內地監管要求券商移除高頻交易專用伺服器".encode(), "港鐵公布新年假期列車服務安排".encode()
)
HEADERS = {"Content-Type": "application/xml; charset=utf-8"}
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(cfg: FeedConfig, body: bytes) -> Parsed | None:
    try:
        return parse_body(cfg, body, HEADERS, cfg.url)
    except FeedError as exc:
        reason = exc.reason
    assert reason  # a reason /status can show: one non-empty line
    assert "\n" not in reason
    return None


def well_formed(h: Headline) -> None:
    assert h.title
    assert h.title == h.title.strip()
    assert len(h.title) <= 300
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c == "\ufffd" for c in h.title)
    assert h.link is None or h.link.lower().startswith(("http://", "https://"))
    assert h.link or h.guid
    assert h.published is None or h.published.tzinfo is not None


def alerts(parsed: Parsed | None) -> list[str]:
    out = []
    for h in parsed.headlines if parsed else []:
        well_formed(h)
        found = RULES.classify(h.title)
        if found.matches:
            out.append(headline_alert(h, found, NOW).id)
    return out


@PROPS
@given(st.binary(max_size=4096), st.sampled_from([RSS, ATOM, CSRC]))
def test_random_bytes_never_escape_and_never_alert(body: bytes, cfg: FeedConfig) -> None:
    parsed = parse(cfg, body)
    assert alerts(parsed) == []


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    body = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        at = draw(st.integers(0, max(0, len(body) - 1)))
        if op == "flip" and body:
            body[at] = draw(st.integers(0, 255))
        elif op == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del body[at : at + draw(st.integers(1, 64))]
        elif op == "truncate":
            del body[at:]
        else:
            body[at:at] = body[at : at + draw(st.integers(1, 64))]
    return bytes(body)


@PROPS
@given(st.data())
def test_mutated_feeds_never_escape_and_yield_only_well_formed_stories(data: st.DataObject) -> None:
    cfg = data.draw(st.sampled_from([RSS, ATOM, CSRC]))
    body = data.draw(mutated(VALID[cfg]))
    parsed = parse(cfg, body)
    ids = alerts(parsed)  # checks every story is well formed
    # whatever survives, a story's alert is deterministic: same body, same alerts
    assert alerts(parse(cfg, body)) == ids


@PROPS
@given(mutated(NEUTRAL))
def test_mutations_of_a_feed_without_matching_stories_never_alert(body: bytes) -> None:
    assert alerts(parse(RSS, body)) == []


def test_the_unmutated_fixtures_do_alert() -> None:
    """The properties above are not vacuous: the same path alerts on the valid feeds."""
    for cfg, body in VALID.items():
        assert alerts(parse(cfg, body)), cfg.id
    assert alerts(parse(RSS, NEUTRAL)) == []
