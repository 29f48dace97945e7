"""Dependency layers: parsing what a buildpack declares, their tags, their build context."""

import importlib.util
from pathlib import Path

import pytest

from builds.engine import BuildFailed
from builds.engine.layers import plan_layers

RUN = "pier/stack-run:latest"
SCRIPT = Path(__file__).resolve().parents[3] / "buildpacks/python/lib/requirement_files.py"
spec = importlib.util.spec_from_file_location("pier_requirement_files", SCRIPT)
requirement_files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(requirement_files)


def layers(text, run_image_id="sha256:run1", repository="pier/id1"):
    return plan_layers(text, repository=repository, run_image=RUN, run_image_id=run_image_id)


def test_layers_chain_from_the_run_image_with_tags_in_the_apps_repository():
    first, second = layers(".venv\t/cache/python/venv\tkey1\nnode_modules\t/cache/nm\tkey2\n")
    assert (first.folder, first.source, first.parent) == (".venv", "/cache/python/venv", RUN)
    assert first.tag.startswith("pier/id1:deps-")
    assert second.parent == first.tag
    assert second.tag.startswith("pier/id1:deps-") and second.tag != first.tag


def test_a_tag_changes_with_the_key_the_run_image_and_the_app():
    tag = layers(".venv\t/cache/v\tkey1")[0].tag
    assert layers(".venv\t/cache/v\tkey1")[0].tag == tag  # same inputs: reused
    assert layers(".venv\t/cache/v\tkey2")[0].tag != tag
    assert layers(".venv\t/cache/v\tkey1", run_image_id="sha256:run2")[0].tag != tag
    assert layers(".venv\t/cache/v\tkey1", repository="pier/id2")[0].tag.startswith("pier/id2:")


def test_a_layer_below_that_changed_changes_the_tags_above():
    above = layers(".venv\t/c/v\tk1\nnode_modules\t/c/n\tk2")[1].tag
    assert layers(".venv\t/c/v\tCHANGED\nnode_modules\t/c/n\tk2")[1].tag != above


@pytest.mark.parametrize(
    "line",
    [
        "../etc\t/cache/v\tk",
        "..\t/cache/v\tk",
        "a/b\t/cache/v\tk",
        ".venv\tcache/v\tk",
        ".venv\t/cache/../etc\tk",
        ".venv\t/cache/v\t ",
        ".venv\t/cache/v",
        ".venv /cache/v k",
    ],
)
def test_malformed_declarations_fail_the_build_saying_the_format(line):
    with pytest.raises(BuildFailed, match="malformed dependency layer.*folder<TAB>"):
        layers(line)


def test_a_folder_declared_twice_fails():
    with pytest.raises(BuildFailed, match="twice"):
        layers(".venv\t/a\tk\n.venv\t/b\tk")


def test_requirement_files_follow_includes_in_every_spelling_but_not_out_of_the_app(tmp_path):
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements.txt").write_text(
        "-r requirements/base.txt\n--constraint=constraints.txt\ndjango  # -r comment.txt\n"
        "-r ../outside.txt\n"
    )
    (tmp_path / "requirements/base.txt").write_text("-rextra.txt\n--requirement  prod.txt\n")
    (tmp_path / "requirements/extra.txt").write_text("-r ../requirements.txt\nsix\n")
    files = requirement_files.requirement_files(tmp_path, "requirements.txt")
    assert files == [
        "requirements.txt",
        "requirements/base.txt",
        "constraints.txt",
        "requirements/extra.txt",
        "requirements/prod.txt",
    ]
