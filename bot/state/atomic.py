"""One atomic, fenced write: a batch of Redis commands that lands whole or not at all.

An event that raises an alert changes state (a rule disarmed and its cooldown started, a
story marked seen, a macro release marked published, a digest day marked sent) and owes
deliveries. `Batch` gathers both — the state commands and the alert records
(bot.delivery.records) — and `apply` runs them as ONE Lua script, so Redis applies all of
them or none:

- **fenced**: given the leader's token, the script first compares it with the leader key
  and refuses the whole batch when it is not current (`StaleLeader`). The comparison runs
  inside Redis at the moment the batch is applied, so a batch sent by a leader whose term
  ended while it waited — Redis frozen past the lease, a write that timed out on our side
  and is applied late — can never land.
- **claimed**: claim keys (``SET NX`` markers) are checked first; if any exists, the event
  was recorded before and nothing is written (0). That makes a retry after a lost reply a
  no-op and lets one story or release be raised only once, by whichever replica claims it.

The commands are plain Redis commands passed as data (``("HSET", key, field, value)``),
so a batch is built by the module that owns those keys and applied by this one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.state import keys

# KEYS[1] the leader key; ARGV: token ('' = unfenced), claim count, then per claim (key,
# value, ttl), then the command count, then per command (argc, args...).
_APPLY = """
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local nclaims = tonumber(ARGV[2])
local i = 3
for c = 1, nclaims do
  if redis.call('EXISTS', ARGV[i]) == 1 then return 0 end
  i = i + 3
end
i = 3
for c = 1, nclaims do
  redis.call('SET', ARGV[i], ARGV[i + 1], 'EX', ARGV[i + 2])
  i = i + 3
end
local ncmds = tonumber(ARGV[i])
i = i + 1
for c = 1, ncmds do
  local argc = tonumber(ARGV[i])
  local args = {}
  for a = 1, argc do
    args[a] = ARGV[i + a]
  end
  redis.call(unpack(args))
  i = i + argc + 1
end
return 1
"""


class StaleLeader(RuntimeError):
    """This replica's leadership token is no longer current: its write was refused."""


@dataclass(slots=True)
class Batch:
    """Commands to apply together, and the claims that must all be new for them to apply."""

    claims: list[tuple[str, str, int]] = field(default_factory=list)  # (key, value, ttl s)
    commands: list[tuple[str, ...]] = field(default_factory=list)

    def claim(self, key: str, ttl_s: int, value: str = "1") -> None:
        self.claims.append((key, value, int(ttl_s)))

    def call(self, *command: object) -> None:
        self.commands.append(tuple(str(part) for part in command))

    def __bool__(self) -> bool:
        return bool(self.claims or self.commands)


async def apply(redis: Any, batch: Batch, fence: str | None) -> bool:
    """Apply `batch` atomically. True: applied; False: a claim existed, nothing written.
    Raises StaleLeader when `fence` is given and is not the leader's current token."""
    args: list[object] = [fence or "", len(batch.claims)]
    for key, value, ttl in batch.claims:
        args += [key, value, ttl]
    args.append(len(batch.commands))
    for command in batch.commands:
        args += [len(command), *command]
    result = await redis.eval(_APPLY, 1, keys.LEADER, *args)
    if int(result) == -1:
        raise StaleLeader("write refused: leadership lost")
    return bool(result)
