"""A feed that declares DTD entities is refused before feedparser sees it (issue 18.3):
one flat entity repeated inside the 2 MB cap cost 300 MB at 40 KB and 4 GB at 310 KB.
The bodies here are SYNTHETIC attack documents."""

from __future__ import annotations

import pytest

from bot.sources.headline_feeds import FeedConfig, FeedError, parse_feed

SCMP = FeedConfig(
    "scmp_china_economy", "SCMP", "rss", "https://www.scmp.com", "/rss/318421/feed", 300, "en"
)
ITEM = "<item><title>CSRC raises margin ratio to 100% &a;</title><link>https://x.cn/1</link></item>"


def bomb(refs: int = 10_000) -> str:
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "' + "x" * 1000 + '">]>\n'
        '<rss version="2.0"><channel><title>t</title>'
        + ITEM.replace("&a;", "&a;" * refs)
        + "</channel></rss>"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-32"])
def test_a_document_declaring_entities_is_refused_in_any_encoding(encoding: str) -> None:
    body = bomb().replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    with pytest.raises(FeedError, match="declares DTD entities"):
        parse_feed(SCMP, body.encode(encoding), {}, "https://www.scmp.com/rss")


def test_a_feed_without_a_dtd_still_parses() -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + ITEM.replace(" &a;", "")
        + "</channel></rss>"
    ).encode()
    parsed = parse_feed(SCMP, body, {}, "https://www.scmp.com/rss")
    assert [h.title for h in parsed.headlines] == ["CSRC raises margin ratio to 100%"]


def test_one_stray_byte_costs_one_story_not_the_feed() -> None:
    """Issue 18.4: a byte that is not UTF-8 in one item used to reject the whole feed,
    critical stories included. SYNTHETIC feed."""
    good = "<item><title>证监会：融资保证金比例提高至100%</title><link>https://x.cn/1</link></item>"
    bad = "<item><title>Stray \xff byte</title><link>https://x.cn/2</link></item>"
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        + good.encode()
        + bad.encode("latin-1")
        + b"</channel></rss>"
    )
    parsed = parse_feed(SCMP, body, {}, "https://www.scmp.com/rss")
    assert [h.title for h in parsed.headlines] == ["证监会：融资保证金比例提高至100%"]
    assert parsed.problem is not None
    assert "undecodable" in parsed.problem
