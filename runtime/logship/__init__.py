"""Ship app output and the router's access log into the apps' log streams.

One job a module, like :mod:`runtime.router`:

- :mod:`~runtime.logship.framing`: Docker's log stream, byte by byte (HTTP chunks,
  multiplexed stdout/stderr frames, partial lines joined, over-long lines cut).
- :mod:`~runtime.logship.follower`: :class:`Shipper` follows every app container (one
  :class:`~runtime.logship.follower.Follower` thread each) into ``app[web.1]`` lines.
  Docker-specific; the runtime gets one from its backend
  (:meth:`runtime.backends.base.BaseBackend.output_shipper`).
- :mod:`~runtime.logship.access`: :class:`AccessLogTail` turns the router's JSON access
  log (HAProxy's or Caddy's) into Heroku-style ``router`` lines.
- :mod:`~runtime.logship.writer`: :class:`StreamWriter`, which both producers hand their
  :class:`Line` values to, writes them to Redis in pipelines.

The app is never slowed down: Docker keeps writing its log file whatever we do, and while
Redis is unavailable the writer keeps a bounded number of lines per app and says how many
it dropped once Redis is back. The last shipped Docker timestamp of each container (and
the access log's inode and offset) is kept in the hash ``pier:logship:since`` in the same
pipeline as the lines, so a restarted shipper resumes where the store left off instead of
shipping old lines again. The line format itself is :mod:`runtime.applog`'s.
"""

from runtime.logship.access import AccessLogTail, router_line
from runtime.logship.follower import Follower, Shipper
from runtime.logship.framing import LineJoiner, dechunk, docker_since, iter_frames
from runtime.logship.writer import SINCE_KEY, Line, StreamWriter

__all__ = [
    "SINCE_KEY",
    "AccessLogTail",
    "Follower",
    "Line",
    "LineJoiner",
    "Shipper",
    "StreamWriter",
    "dechunk",
    "docker_since",
    "iter_frames",
    "router_line",
]
