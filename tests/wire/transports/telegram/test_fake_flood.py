"""The fake Bot API's policing says which window a refused send broke, and by how much
(the fan-out bench reports it)."""

from __future__ import annotations

import aiohttp

from tests.fakes.telegram_api import TOKEN, FakeTelegram, FloodLimits

# Windows long enough that the sends below always land inside them.
LIMITS = FloodLimits(overall=(4, 60.0), per_chat=(2, 60.0), per_group=(1, 60.0))


async def send(fake: FakeTelegram, chat_id: int) -> int:
    async with aiohttp.ClientSession() as session:
        url = f"{fake.url}/bot{TOKEN}/sendMessage"
        async with session.post(url, json={"chat_id": chat_id, "text": "STAR 50 +3%"}) as r:
            return r.status


async def test_each_refusal_names_the_window_it_broke(fake_tg: FakeTelegram) -> None:
    fake_tg.enforce(LIMITS)
    assert [await send(fake_tg, 7) for _ in range(3)] == [200, 200, 429]  # per chat: 2
    assert [await send(fake_tg, -5) for _ in range(2)] == [200, 429]  # per group: 1
    assert await send(fake_tg, 8) == 200  # the fourth accepted send overall
    assert await send(fake_tg, 9) == 429  # the fifth: overall
    assert fake_tg.limit_429s == 3
    assert [(b.chat_id, b.window) for b in fake_tg.limit_breaks] == [
        (7, "per_chat"),
        (-5, "per_group"),
        (9, "overall"),
    ]
    assert all(0 < b.early_s <= 60.0 for b in fake_tg.limit_breaks)
    assert len(fake_tg.accepted) == 4
