"""MARGIN's ten years for /backtest: Eastmoney's datacenter report paged back, as one of
the daily sources DeepHistory (bot.backtest.history) deepens Redis from, once per
instrument (``divbot:daily:MARGIN:from`` records it, as for every instrument).

Pages of PAGE_ROWS rows, newest first, from page 1 until a page reaches back to the start
asked for or the report's last page (``result.pages``), at most MAX_PAGES. The whole fetch
is refused (SourceError: nothing stored, ``history:eastmoney-margin`` unhealthy in
/status) when any page is wrong, so one bad page never leaves a hole stored as data:

- a bad row or a missing page count (bot.sources.margin);
- a page before the last with fewer than PAGE_ROWS rows, or the page count changing
  while paging (the report moved under us);
- a page whose days are not all older than the page before (a row published while
  paging shifts the pages by one: the repeated day is dropped when it agrees, refused
  when it does not);
- a Shanghai session with no row (bot.market.margin.first_gap; only where the market's
  calendar knows the sessions).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Protocol

from bot.market import margin
from bot.market.sessions import Market
from bot.models import Instrument
from bot.sources.base import SourceError
from bot.sources.margin import MarginPage

log = logging.getLogger(__name__)
PAGE_ROWS = 800  # the most one page holds (DATA.md)
# Ten years and the window bases' lead are about 2,700 sessions: 4 pages; 6 bounds a
# report that never reaches the start.
MAX_PAGES = 6


class MarginPages(Protocol):
    name: str

    async def fetch_page(self, number: int, page_size: int) -> MarginPage: ...


class MarginDeepSource:
    """MARGIN's daily history, paged (a daily source of bot.backtest.history)."""

    def __init__(self, source: MarginPages, market: Market) -> None:
        self.source = source
        self.market = market
        self.name = source.name

    def covers(self, instrument: Instrument) -> bool:
        return instrument.key == margin.KEY

    async def fetch_daily(
        self, instrument: Instrument, start: date, end: date
    ) -> list[tuple[date, float]]:
        """The balances (¥bn) from `start` to `end`, oldest first; SourceError if any page
        is wrong (the module docstring)."""
        balances: dict[date, float] = {}
        oldest: date | None = None
        pages: int | None = None
        for number in range(1, MAX_PAGES + 1):
            page = await self.source.fetch_page(number, PAGE_ROWS)
            if pages is not None and page.pages != pages:
                raise SourceError(
                    self.name, f"page {number}: the report went from {pages} to {page.pages} pages"
                )
            pages = page.pages
            if number < pages and len(page.days) != PAGE_ROWS:
                raise SourceError(
                    self.name,
                    f"page {number} of {pages} holds {len(page.days)} rows, not {PAGE_ROWS}",
                )
            fresh = {d.day: d.balance_bn for d in page.days}
            for day, balance in fresh.items():
                if oldest is None or day < oldest:
                    balances[day] = balance
                elif day not in balances:
                    raise SourceError(
                        self.name, f"page {number}: {day} is newer than page {number - 1}'s days"
                    )
                elif balances[day] != balance:
                    raise SourceError(
                        self.name, f"page {number} repeats {day} with another balance"
                    )
            if fresh:
                oldest = min(fresh) if oldest is None else min(oldest, min(fresh))
            if number >= pages or (oldest is not None and oldest <= start):
                break
        else:
            log.info("margin history: %d pages did not reach %s", MAX_PAGES, start)
        if not balances:
            raise SourceError(self.name, "no margin figures returned")
        days = sorted(balances)
        missing = margin.first_gap(set(days), self.market, days[0], days[-1])
        if missing is not None:
            raise SourceError(self.name, f"gap: no margin figure for the session of {missing}")
        return [(d, balances[d]) for d in days if start <= d <= end]
