import json

from cli.output import Output, format_time, plain_table

RELEASES = [
    {
        "version": 2,
        "description": "Set FOO config vars",
        "status": "succeeded",
        "build": None,
        "creator": {"email": "owner@example.com"},
        "created_at": "2026-11-28T01:02:03Z",
        "current": True,
    },
    {
        "version": 1,
        "description": "Initial release",
        "status": "succeeded",
        "build": None,
        "creator": None,
        "created_at": "2026-11-28T01:00:00Z",
        "current": False,
    },
]


def test_plain_table_aligns_columns_and_strips_trailing_space():
    lines = plain_table(["NAME", "OWNER"], [["a", "x@example.com"], ["longer-name", ""]])
    assert lines == [
        "NAME         OWNER",
        "a            x@example.com",
        "longer-name",
    ]


def test_pairs_aligns_values_and_indents_later_lines(capsys):
    Output(tty=False).pairs([("A", "1"), ("LONGER", "two\nlines")])
    assert capsys.readouterr().out == "A:      1\nLONGER: two\n        lines\n"


def test_format_time_handles_missing_and_unparsable_values():
    assert format_time(None) == ""
    assert format_time("yesterday") == "yesterday"
    assert len(format_time("2026-11-28T01:02:03.123456+00:00")) == len("2026-11-28 01:02:03")


def test_listing_is_plain_text_without_colour_off_a_terminal(run, api):
    api.on("GET", "apps/demo/releases", RELEASES)
    result = run("releases", "-a", "demo")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["VERSION", "DESCRIPTION", "STATUS", "BY", "CREATED"]
    assert lines[1].startswith("v2  ")
    assert "succeeded (current)" in lines[1]
    assert "\x1b[" not in result.stdout


def test_listing_is_a_rich_table_with_colour_on_a_terminal(run, api):
    api.on("GET", "apps/demo/releases", RELEASES)
    result = run("releases", "-a", "demo", tty=True)
    assert result.exit_code == 0, result.output
    assert "\x1b[" in result.stdout
    assert "VERSION" in result.stdout and "Initial release" in result.stdout


def test_rich_table_does_not_interpret_markup_in_values(run, api, app_json):
    api.on("GET", "apps", [{**app_json, "name": "[bold]x[/bold]"}])
    result = run("apps", tty=True)
    assert "[bold]x[/bold]" in result.stdout


def test_json_flag_prints_the_raw_api_answer(run, api, app_json):
    api.on("GET", "apps/demo/releases", RELEASES)
    api.on("GET", "apps", [app_json])
    api.on("GET", "apps/demo", app_json)
    api.on("GET", "apps/demo/config-vars", {"A": "ü b"})
    for args, expected in [
        (["releases"], RELEASES),
        (["apps"], [app_json]),
        (["apps:info"], app_json),
        (["config"], {"A": "ü b"}),
    ]:
        extra = ["-a", "demo"] if args[0] != "apps" else []
        result = run(*args, *extra, "--json", tty=True)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == expected


def test_config_shell_quotes_values_for_eval(run, api):
    api.on("GET", "apps/demo/config-vars", {"B": "it's two words", "A": "plain"})
    result = run("config", "-a", "demo", "--shell")
    assert result.stdout == "A=plain\nB='it'\"'\"'s two words'\n"


def test_config_table_shows_key_value_lines(run, api):
    api.on("GET", "apps/demo/config-vars", {"B": "2", "LONG_KEY": "x"})
    result = run("config", "-a", "demo")
    assert result.stdout.splitlines()[1:] == ["B:        2", "LONG_KEY: x"]


def test_empty_listings_say_so_on_stderr_and_keep_stdout_empty(run, api):
    api.on("GET", "apps", [])
    result = run("apps")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no apps" in result.stderr
