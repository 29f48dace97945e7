"""One blocking stream read per app per web worker, fanned out to every tail of that app.

A tail used to hold its own Redis connection in a blocking XREAD: 500 idle tails were
500 connections and ~280 KB each. Now a worker keeps one reader task per app that is
being tailed, and each tail only holds a small queue of batches.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from runtime.applog import id_after, stream_key, text

BLOCK_MS = 15_000
READ_COUNT = 1000
QUEUE_LINES = 5000  # a tail this many lines behind is cut loose and catches up itself


async def trimmed_after(client, key: str, last: str) -> bool:
    """Whether the stream's cap has trimmed past ``last``, so entries after it may be gone.

    (It errs only when the cap stopped exactly at ``last``; Redis keeps no count to tell.)
    """
    if last == "0-0":
        return False
    oldest = await client.xrange(key, count=1)
    return bool(oldest) and id_after(text(oldest[0][0]), last)



@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    queued_lines: int = 0  # in ``queue``: the bound on what a slow tail costs
    lagged: bool = False  # the feed dropped batches for it: it must re-read from Redis

    async def get(self) -> list | None:
        batch = await self.queue.get()
        self.queued_lines -= len(batch or ())
        return batch


class AppFeed:
    """Reads one app's stream from where it stood when the feed started, for its tails."""

    def __init__(self, client, app: str, on_idle) -> None:
        self.client, self.key, self.on_idle = client, stream_key(app), on_idle
        self.subscriptions: set[Subscription] = set()
        self.start_id: str | None = None
        self.started = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            newest = await self.client.xrevrange(self.key, count=1)
            self.start_id = text(newest[0][0]) if newest else "0-0"
            self.started.set()
            last = self.start_id
            while self.subscriptions:
                result = await self.client.xread({self.key: last}, block=BLOCK_MS,
                                                 count=READ_COUNT)
                if not result:
                    continue
                batch = result[0][1]
                # Under a burst the cap can trim entries this reader never saw: its tails
                # then re-read from Redis, where they learn they skipped lines.
                behind = await trimmed_after(self.client, self.key, last)
                last = text(batch[-1][0])
                for sub in list(self.subscriptions):
                    if behind:
                        self._cut_loose(sub)
                    else:
                        self._offer(sub, batch)
        finally:
            self.started.set()  # a failed start must not leave tails waiting forever
            for sub in self.subscriptions:
                self._cut_loose(sub)
            self.on_idle(self)

    @staticmethod
    def _offer(sub: Subscription, batch) -> None:
        if sub.lagged:
            return
        if sub.queued_lines + len(batch) > QUEUE_LINES:
            AppFeed._cut_loose(sub)  # it re-reads from Redis instead: memory stays bounded
            return
        sub.queued_lines += len(batch)
        sub.queue.put_nowait(batch)

    @staticmethod
    def _cut_loose(sub: Subscription) -> None:
        if not sub.lagged:
            sub.lagged = True
            sub.queue.put_nowait(None)


class Feeds:
    """The feeds of one event loop (one web worker), created on the first tail of an app."""

    def __init__(self, client) -> None:
        self.client = client
        self.feeds: dict[str, AppFeed] = {}

    async def subscribe(self, app: str) -> Subscription:
        """Return a new subscription: it receives every entry after where the feed began."""
        feed = self.feeds.get(app)
        if feed is None or feed.task.done():
            feed = self.feeds[app] = AppFeed(self.client, app, self._forget(app))
        sub = Subscription()
        feed.subscriptions.add(sub)
        await feed.started.wait()
        if feed.start_id is None:
            feed.subscriptions.discard(sub)
            await feed.task  # raises the reason it could not start (Redis down)
        return sub

    def unsubscribe(self, app: str, sub: Subscription) -> None:
        feed = self.feeds.get(app)
        if feed is not None:
            feed.subscriptions.discard(sub)
            # The reader notices when its blocking read returns; an idle app's reader may
            # wait up to BLOCK_MS before it ends. Cancel it now rather than hold Redis.
            if not feed.subscriptions:
                feed.task.cancel()

    def _forget(self, app: str):
        def forget(feed: AppFeed) -> None:
            if self.feeds.get(app) is feed:
                del self.feeds[app]
        return forget
