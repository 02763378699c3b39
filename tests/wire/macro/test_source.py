"""Eastmoney's datacenter over loopback: the request on the wire, the parse, the GDP
year-to-date trap, and every malformed answer turned into a SourceError."""

from __future__ import annotations

import math
from datetime import date

import pytest

from bot.sources.base import SourceError
from bot.sources.datacenter import EastmoneyMacroSource, MacroPrint, parse_report
from tests.fakes.datacenter import FakeDatacenter
from tests.fakes.providers import Reply, fixture


async def test_fetch_speaks_the_datacenter_wire_format(
    eastmoney_macro: EastmoneyMacroSource, datacenter: FakeDatacenter
) -> None:
    prints = await eastmoney_macro.fetch("PPI")
    assert prints[:2] == [
        MacroPrint("PPI", date(2025, 11, 1), -2.2),
        MacroPrint("PPI", date(2025, 10, 1), -2.1),
    ]
    (query,) = datacenter.hits("RPT_ECONOMY_PPI")
    assert query["columns"] == "ALL"
    assert (query["sortColumns"], query["sortTypes"]) == ("REPORT_DATE", "-1")
    cpi = await eastmoney_macro.fetch("CPI")
    assert cpi[0] == MacroPrint("CPI", date(2025, 11, 1), 0.7)


def test_gdp_sum_same_is_year_to_date_except_in_the_first_quarter() -> None:
    prints = parse_report("GDP", fixture("eastmoney/datacenter-gdp.json"))
    assert prints == [
        MacroPrint("GDP", date(2025, 10, 1), 5.0, ytd=True),  # all of 2025, not Q4's 4.5
        MacroPrint("GDP", date(2025, 7, 1), 5.2, ytd=True),
        MacroPrint("GDP", date(2025, 1, 1), 5.4, ytd=False),
    ]


def _ppi(**row: object) -> dict[str, object]:
    base: dict[str, object] = {"REPORT_DATE": "2025-12-01 00:00:00", "TIME": "2025年12月份"}
    base.update(row)
    return {"result": {"data": [base]}, "success": True, "code": 0}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (fixture("eastmoney/datacenter-empty.json"), "result null, code 9201"),
        ([1, 2], "the answer is list"),
        ({"result": {"data": []}}, "empty"),
        ({"result": {"data": "rows"}}, "not a list"),
        ({"result": {"data": ["row"]}}, "row 0 is not an object"),
        (_ppi(BASE_SAME=None), "BASE_SAME missing"),
        (_ppi(BASE_SAME="-"), "BASE_SAME missing"),
        (_ppi(BASE_SAME=math.nan), "BASE_SAME missing"),
        (_ppi(BASE_SAME=-190), "outside"),
        (_ppi(BASE_SAME=-1.9, REPORT_DATE="last month"), "REPORT_DATE"),
        (_ppi(BASE_SAME=-1.9, REPORT_DATE=None), "REPORT_DATE"),
    ],
)
def test_malformed_answers_raise_source_errors(body: object, reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        parse_report("PPI", body)


def test_gdp_rows_that_do_not_say_their_quarters_are_refused() -> None:
    body = fixture("eastmoney/datacenter-gdp.json")
    body["result"]["data"][0]["TIME"] = "2025年"
    with pytest.raises(SourceError, match="does not name its quarters"):
        parse_report("GDP", body)
    body = fixture("eastmoney/datacenter-gdp.json")
    body["result"]["data"][0]["REPORT_DATE"] = "2025-11-01 00:00:00"
    with pytest.raises(SourceError, match="quarter's end"):
        parse_report("GDP", body)


async def test_nan_and_html_on_the_wire_are_errors_not_prints(
    eastmoney_macro: EastmoneyMacroSource, datacenter: FakeDatacenter
) -> None:
    nan_body = '{"result":{"data":[{"REPORT_DATE":"2025-12-01 00:00:00","BASE_SAME":NaN}]}}'
    datacenter.queue("RPT_ECONOMY_PPI", Reply(body=nan_body))
    with pytest.raises(SourceError, match="not a number"):
        await eastmoney_macro.fetch("PPI")
    datacenter.queue("RPT_ECONOMY_PPI", Reply(body="<html>busy</html>"))
    with pytest.raises(SourceError, match="HTML"):
        await eastmoney_macro.fetch("PPI")
