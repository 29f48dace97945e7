"""The small SSE reader behind `pier logs --tail`."""

from cli import sse


def test_lines_split_on_newlines_only_across_chunks():
    chunks = ["a\r\nb", "c\n", "with\ra carriage return\n", "unfinished"]
    assert list(sse.lines(chunks)) == ["a", "bc", "with\ra carriage return", "unfinished"]


def test_events_carry_the_last_id_and_skip_comments():
    text = (
        ": keep-alive\n\n"
        "id: 1-0\ndata: first\n\n"
        "data: no id of its own\n\n"
        "id: 2-0\ndata: two\ndata: lines\n\n"
        "event: other\ndata:x\n\n"
        "id: 3-0\ndata: cut off by a drop"
    )
    got = list(sse.events(sse.lines([text])))
    assert got == [
        sse.Event("first", "1-0"),
        sse.Event("no id of its own", "1-0"),
        sse.Event("two\nlines", "2-0"),
        sse.Event("x", "2-0", "other"),
    ]


def test_a_parser_resumes_with_the_id_it_was_given():
    parser = sse.EventParser("7-0")
    assert parser.feed("data: hi") is None
    assert parser.feed("") == sse.Event("hi", "7-0")
    assert parser.feed("") is None  # a blank line alone dispatches nothing
