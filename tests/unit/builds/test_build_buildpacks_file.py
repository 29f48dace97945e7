from builds.engine.buildpacks import parse_buildpacks_file, requested_buildpacks


def test_buildpacks_file_lists_buildpacks_in_order_keeping_git_refs():
    text = (
        "# our buildpacks\n"
        "https://github.com/heroku/heroku-buildpack-nodejs.git#v200\n"
        "\n"
        "  ./vendor/buildpack  \n"
        "heroku/python\n"
    )
    assert parse_buildpacks_file(text) == [
        "https://github.com/heroku/heroku-buildpack-nodejs.git#v200",
        "./vendor/buildpack",
        "heroku/python",
    ]


def test_buildpack_url_wins_over_the_file(tmp_path):
    (tmp_path / ".buildpacks").write_text("./a\n")
    env = {"BUILDPACK_URL": " https://example.com/bp.tgz "}
    assert requested_buildpacks(env=env, source_dir=tmp_path) == ["https://example.com/bp.tgz"]


def test_buildpacks_file_is_used_without_buildpack_url(tmp_path):
    (tmp_path / ".buildpacks").write_text("./a\n./b\n")
    assert requested_buildpacks(env={}, source_dir=tmp_path) == ["./a", "./b"]


def test_nothing_requested_means_detect(tmp_path):
    assert requested_buildpacks(env={"BUILDPACK_URL": ""}, source_dir=tmp_path) == []
