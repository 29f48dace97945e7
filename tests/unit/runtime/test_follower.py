"""A log follower ships only the process's own output: an engine message is not a line."""

import pytest

from runtime.logship.follower import EngineMessage, Follower


class Writer:
    def __init__(self):
        self.batches = []

    def put(self, lines, mark):
        self.batches.append((lines, mark))


def follower(writer: Writer) -> Follower:
    return Follower(api=None, container_id="task1", app="app-id", dyno="web.1", since=None,
                    writer=writer, on_exit=lambda f: None, kind="tasks")


def test_output_lines_are_shipped_with_their_timestamps():
    writer = Writer()
    follower(writer)._ship([[(1, b"2026-12-02T01:00:00.123456789Z hello\n")]])
    [(lines, mark)] = writer.batches
    assert [line.message for line in lines] == ["hello"]
    assert mark == ("task1", "2026-12-02T01:00:00.123456789Z")


def test_an_engine_message_stops_the_follower_and_ships_nothing():
    writer = Writer()
    message = (b"Error grabbing logs: rpc error: code = Unknown desc = warning: incomplete log "
               b"stream. some logs could not be retrieved for the following reasons: node x "
               b"is not available\n")
    with pytest.raises(EngineMessage, match="node x is not available"):
        follower(writer)._ship([[(1, b"2026-12-02T01:00:00.1Z before\n")], [(2, message)]])
    # What came before is shipped with its mark; the message is not, nor is its mark.
    assert [[line.message for line in lines] for lines, _ in writer.batches] == [["before"]]
