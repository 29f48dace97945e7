"""End a long-lived stream once its reader loses access to the app.

Access is checked when a stream opens; a tail can then stay open for hours. Without a
re-check, a collaborator removed from an app (or whose token was revoked, or whose app
was destroyed and its name taken by someone else) would keep reading it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable


async def until_revoked(
    batches: AsyncIterator, allowed: Callable[[], Awaitable[bool]], every: float
) -> AsyncIterator:
    """Yield what ``batches`` yields until ``allowed()`` says no; ask it every ``every`` s.

    The check does not wait for the next batch: an idle tail ends as soon as a busy one.
    """
    loop = asyncio.get_running_loop()
    source = aiter(batches)
    next_check = loop.time() + every
    pending: asyncio.Future | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(source))
            await asyncio.wait({pending}, timeout=max(0.0, next_check - loop.time()))
            if loop.time() >= next_check:
                if not await allowed():
                    return
                next_check = loop.time() + every
            if pending.done():
                try:
                    batch = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                yield batch
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        with contextlib.suppress(Exception):
            await source.aclose()
