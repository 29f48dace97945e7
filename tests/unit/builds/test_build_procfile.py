import pytest

from builds.engine.procfile import (
    ProcfileError,
    merge_process_types,
    parse_procfile,
    parse_release,
)


def test_procfile_types_and_commands():
    text = "# processes\nweb: gunicorn app:wsgi --bind 0.0.0.0:$PORT\n\nworker:python worker.py\n"
    assert parse_procfile(text) == {
        "web": "gunicorn app:wsgi --bind 0.0.0.0:$PORT",
        "worker": "python worker.py",
    }


def test_procfile_keeps_colons_and_quotes_in_commands():
    text = "release: python -c 'print(\"a: b\")'\r\n"
    assert parse_procfile(text) == {"release": "python -c 'print(\"a: b\")'"}


def test_procfile_later_duplicate_wins():
    assert parse_procfile("web: a\nweb: b\n") == {"web": "b"}


def test_procfile_line_without_a_type_is_an_error_naming_the_line():
    with pytest.raises(ProcfileError, match="line 2"):
        parse_procfile("web: a\njust a command\n")


def test_release_block_mapping():
    text = "---\naddons: []\nconfig_vars: {}\ndefault_process_types:\n  web: npm start\n"
    assert parse_release(text) == {"web": "npm start"}


def test_release_quoted_values_and_other_keys_after():
    text = (
        "---\ndefault_process_types:\n"
        '  web: "bin/server --port \\"$PORT\\""\n'
        "  worker: 'it''s here'\n"
        "config_vars:\n  FOO: bar\n"
    )
    assert parse_release(text) == {"web": 'bin/server --port "$PORT"', "worker": "it's here"}


@pytest.mark.parametrize("text", ["--- {}", "---\ndefault_process_types: {}\n", "", "---\n"])
def test_release_without_process_types(text):
    assert parse_release(text) == {}


def test_procfile_overrides_buildpack_defaults():
    merged = merge_process_types({"web": "npm start"}, {"worker": "x"}, {"web": "node a.js"})
    assert merged == {"web": "node a.js", "worker": "x"}
