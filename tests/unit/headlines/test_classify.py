"""The classifier on real-shaped titles in both languages, the text folding under it, the
rule file's validation, and the source list's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import REPO_ROOT, Settings
from bot.headlines.classifier import RulesError, load_rules, parse_rules
from bot.headlines.story import Headline, story_alert_id, story_keys
from bot.headlines.text import canonical_link, fold, plain_text, title_key
from bot.sources.headline_feeds import FeedConfigError, load_feeds

RULES = load_rules(REPO_ROOT / "seeds" / "headline_rules.toml")

# (title as a feed would write it, expected primary category, direction, severity);
# category None = no alert. The wording is synthetic, shaped on real headlines.
TABLE = [
    (
        "经中国证监会批准，沪深北交易所将融资保证金最低比例从80%提高至100%",
        "margin",
        "tightening",
        "critical",
    ),
    (
        "China raises margin requirement for new financing purchases to 100%",
        "margin",
        "tightening",
        "critical",
    ),
    ("滬深北交易所上調融資保證金最低比例至100%", "margin", "tightening", "critical"),
    ("两融余额突破2.5万亿元", "margin", "neutral", "warning"),
    ("Regulators lower margin ratio to 80% to support market", "margin", "easing", "warning"),
    (
        "China orders removal of servers dedicated to high-frequency trading",
        "hft",
        "tightening",
        "critical",
    ),
    ("证监会：程序化交易管理实施细则正式实施", "hft", "neutral", "warning"),
    ("內地監管要求券商移除高頻交易專用伺服器", "hft", "tightening", "critical"),
    ("沪深交易所发布程序化交易监管规则 高频交易认定标准明确", "hft", "tightening", "critical"),
    ("PBOC cuts reserve requirement ratio by 50 basis points", "easing", "easing", "critical"),
    ("央行宣布降准0.5个百分点 释放长期资金约1万亿元", "easing", "easing", "critical"),
    ("中国人民银行：一年期LPR维持3.0%不变", "easing", "neutral", "info"),
    ("US tightens chip export controls on China", "chips", "tightening", "critical"),
    ("美方将多家中国半导体企业列入实体清单", "chips", "tightening", "critical"),
    ("TSMC fourth-quarter profit beats estimates", "chips", "neutral", "info"),
    ("Hong Kong IPO pipeline swells as AI firms seek listings", "ipo", "neutral", "info"),
    ("ＩＰＯ　審批　暫停", "ipo", "tightening", "warning"),
    (
        "Beijing scraps home purchase curbs to support property market",
        "property",
        "easing",
        "warning",
    ),
    ("多地出台楼市支持政策 降低首付比例", "property", "easing", "warning"),
    ("Alibaba upgrades Qwen AI app with shopping features", "ai", "neutral", "info"),
    ("DeepSeek 发布 新一代 大模型", "ai", "neutral", "info"),
    (
        "China's central bank injects liquidity via MLF, signals moderately loose policy",
        "easing",
        "easing",
        "warning",
    ),
    ("Central bank keeps loan prime rate unchanged for eighth month", "easing", "neutral", "info"),
    ("MSCI Asia Pacific index closes at record high", "records", "neutral", "info"),
    # not stories for this bot
    ("TSMC's gross margin widens", "chips", "neutral", "info"),  # chips, never margin
    ("Retailers' profit margins shrink in December", None, None, None),
    ("Tripod maker posts record sales", None, None, None),
    ("HKEX Notice on Securities Market Holiday Arrangements", None, None, None),
    ("国家统计局：12月份居民消费价格同比上涨0.8%", None, None, None),
]


@pytest.mark.parametrize(("title", "category", "direction", "severity"), TABLE)
def test_titles_classify_to_category_and_direction(
    title: str, category: str | None, direction: str | None, severity: str | None
) -> None:
    found = RULES.classify(title)
    if category is None:
        assert found.matches == ()
        return
    primary = found.primary
    assert primary is not None, title
    assert (primary.category, primary.direction, primary.severity) == (
        category,
        direction,
        severity,
    )


def test_margin_is_not_found_in_gross_margin() -> None:
    assert "margin" not in RULES.classify("TSMC's gross margin widens").categories


def test_matching_ignores_width_case_and_spaces_between_chinese() -> None:
    assert fold("ＭＡＲＧＩＮ　Ｆｉｎａｎｃｉｎｇ") == "margin financing"
    assert fold("融资 融券") == "融资融券"
    assert RULES.classify("融资 融券 余额").primary is not None
    assert RULES.classify("ＭＡＲＧＩＮ　ＬＥＮＤＩＮＧ curbs").categories == {"margin"}


def test_category_names_and_aliases() -> None:
    margin = RULES.category("两融")
    assert margin is not None
    assert margin.id == "margin"
    assert RULES.category("MARGIN") is margin
    assert RULES.category("ＨＦＴ") is RULES.category("hft")
    assert RULES.category("nonsense") is None


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "no [[category]]"),
        ({"category": [{"id": "X!", "keywords": ["a"]}]}, "category.0.id: String should match"),
        ({"category": [{"id": "ok", "keywords": []}]}, "needs keywords or patterns"),
        ({"category": [{"id": "ok", "keywords": ["a"], "severity": "huge"}]}, "severity"),
        ({"category": [{"id": "ok", "keywords": ["a"], "direction": "up"}]}, "direction"),
        ({"category": [{"id": "ok", "patterns": ["(unclosed"]}]}, "bad pattern"),
        (
            {"category": [{"id": "ok", "keywords": ["a"]}, {"id": "ok", "keywords": ["b"]}]},
            "used twice",
        ),
        (
            {"category": [{"id": "ok", "keywords": ["a"], "when": [{"direction": "easing"}]}]},
            "needs `any`",
        ),
    ],
)
def test_bad_rule_files_are_refused_with_the_fault_named(doc: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(RulesError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_rules(doc)


def test_canonical_link_strips_tracking_and_case() -> None:
    a = canonical_link("https://WWW.SCMP.com/a/b/?utm_source=rss&id=3&utm_medium=x#frag")
    b = canonical_link("http://www.scmp.com:80/a/b?id=3&from=timeline")
    assert a == b == "https://www.scmp.com/a/b?id=3"
    assert canonical_link("ftp://example.com/x") is None
    assert canonical_link("javascript:alert(1)") is None
    assert canonical_link("http://[::1") is None


def test_title_key_and_plain_text() -> None:
    assert title_key("China raises  margin ratio!") == title_key("ＣＨＩＮＡ raises margin ratio")
    assert title_key("公告") is None  # too short to name one story
    assert plain_text("Margin <b>rules</b> &amp; more", is_html=True) == "Margin rules & more"
    assert plain_text("A <!channel> & b", is_html=False) == "A <!channel> & b"
    assert plain_text("bad\x00\x1b[31m char\ufffd", is_html=False) == "bad[31m char"


def test_story_keys_and_alert_id_are_shared_across_feeds() -> None:
    a = Headline(
        "scmp_china_economy",
        "SCMP",
        "China raises margin ratio",
        "https://x.com/a?utm_source=1",
        "g1",
        None,
    )
    b = Headline(
        "hkex_news", "HKEX", "China  raises margin ratio.", "https://X.com/a", "other", None
    )
    assert story_keys(a)[:2] == story_keys(b)[:2]
    assert story_keys(a)[2] != story_keys(b)[2]  # GUIDs are scoped to their feed
    assert story_alert_id(a) == story_alert_id(b)


def test_feed_base_overrides_setting() -> None:
    s = Settings(
        _env_file=None,
        feed_base_overrides="csrc=http://127.0.0.1:9,rthk_finance=https://r.example/",
    )  # type: ignore[call-arg]
    assert s.feed_base_overrides == {
        "csrc": "http://127.0.0.1:9",
        "rthk_finance": "https://r.example/",
    }
    book = load_feeds(REPO_ROOT / "seeds" / "feeds.toml", s.feed_base_overrides)
    urls = {f.id: f.url for f in book.feeds}
    assert urls["csrc"].startswith("http://127.0.0.1:9/searchList/c100028?")
    assert urls["rthk_finance"] == "https://r.example/rthk/news/rss/c_expressnews_cfinance.xml"
    assert urls["scmp_china_economy"] == "https://www.scmp.com/rss/318421/feed"
    for bad in ("csrc", "csrc=ftp://x", "CSRC!=http://x"):
        with pytest.raises(ValidationError):
            Settings(_env_file=None, feed_base_overrides=bad)  # type: ignore[call-arg]
    with pytest.raises(FeedConfigError, match="no feed 'nope'"):
        load_feeds(REPO_ROOT / "seeds" / "feeds.toml", {"nope": "http://x"})


def test_every_bundled_feed_is_fetched_over_https() -> None:
    """The CSRC list was fetched over plain http:// (issue 18.3): anyone on the path could
    send a body of their choosing. Every source in seeds/feeds.toml offers https."""
    book = load_feeds(REPO_ROOT / "seeds" / "feeds.toml")
    assert [f.id for f in book.feeds if not f.url.startswith("https://")] == []


def test_feed_file_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "feeds.toml"
    bad.write_text('[[feed]]\nid = "x1"\nkind = "gopher"\nbase = "http://a"\npath = "/f"\n')
    with pytest.raises(FeedConfigError, match=r"^feeds\.toml: feed\.0\.kind: Input should be"):
        load_feeds(bad)
