"""The two search wire formats (bot.sources.search): which rows are watchable stocks and
the ids each becomes. SYNTHETIC rows in the providers' shapes (../shared/DATA.md)."""

from __future__ import annotations

import pytest

from bot.sources.base import SourceError
from bot.sources.search import Candidate, parse_eastmoney_suggest, parse_yahoo_search


def test_eastmoney_rows_become_candidates_with_both_ids() -> None:
    rows = [
        {
            "Code": "688256",
            "Name": "寒武纪",
            "Classify": "AStock",
            "MktNum": "1",
            "QuoteID": "1.688256",
        },
        {
            "Code": "300750",
            "Name": "宁德时代",
            "Classify": "AStock",
            "MktNum": "0",
            "QuoteID": "0.300750",
        },
        {
            "Code": "920118",
            "Name": "太湖远大",
            "Classify": "AStock",
            "MktNum": "0",
            "QuoteID": "0.920118",
        },
        {
            "Code": "09988",
            "Name": "阿里巴巴-W",
            "Classify": "HKStock",
            "MktNum": "116",
            "QuoteID": "116.09988",
        },
        {
            "Code": "BABA",
            "Name": "阿里巴巴",
            "Classify": "UsStock",
            "MktNum": "106",
            "QuoteID": "106.BABA",
        },
        {
            "Code": "588000",
            "Name": "科创50ETF",
            "Classify": "Fund",
            "MktNum": "1",
            "QuoteID": "1.588000",
        },
        {
            "Code": "000688",
            "Name": "科创50",
            "Classify": "Index",
            "MktNum": "1",
            "QuoteID": "1.000688",
        },
        {"Code": "X", "Name": "bad id", "Classify": "AStock", "MktNum": "1", "QuoteID": "1;x"},
    ]
    found = parse_eastmoney_suggest({"QuotationCodeTable": {"Data": rows, "Status": 0}})
    assert found == [
        Candidate("688256", "寒武纪", "SH", "1.688256", "688256.SS"),
        Candidate("300750", "宁德时代", "SZ", "0.300750", "300750.SZ"),
        Candidate("920118", "太湖远大", "BJ", "0.920118", "920118.BJ"),
        Candidate("09988", "阿里巴巴-W", "HK", "116.09988", "9988.HK"),
        Candidate("BABA", "阿里巴巴", "US", "106.BABA", "BABA"),
    ]
    assert [c.calendar for c in found] == ["XSHG", "XSHG", "XSHG", "XHKG", "XNYS"]


def test_eastmoney_nothing_found_and_a_changed_shape() -> None:
    assert parse_eastmoney_suggest({"QuotationCodeTable": {"Data": None, "Status": 0}}) == []
    with pytest.raises(SourceError):
        parse_eastmoney_suggest({"Data": []})


def test_yahoo_quotes_become_candidates() -> None:
    quotes = [
        {"symbol": "688256.SS", "shortname": "Cambricon", "exchange": "SHH", "quoteType": "EQUITY"},
        {
            "symbol": "1347.HK",
            "shortname": "HUA HONG SEMI",
            "exchange": "HKG",
            "quoteType": "EQUITY",
        },
        {
            "symbol": "NVDA",
            "shortname": "NVIDIA Corporation",
            "exchange": "NMS",
            "quoteType": "EQUITY",
        },
        {"symbol": "^NDX", "shortname": "NASDAQ 100", "exchange": "NIM", "quoteType": "INDEX"},
        {"symbol": "SAP.DE", "shortname": "SAP", "exchange": "GER", "quoteType": "EQUITY"},
    ]
    assert parse_yahoo_search({"quotes": quotes}) == [
        Candidate("688256", "Cambricon", "SH", "1.688256", "688256.SS"),
        Candidate("01347", "HUA HONG SEMI", "HK", "116.01347", "1347.HK"),
        Candidate("NVDA", "NVIDIA Corporation", "US", "105.NVDA", "NVDA"),
    ]
