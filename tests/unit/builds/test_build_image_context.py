"""Pure parts of making the app image: its Dockerfiles, the context tars, log lines."""

import io
import json
import tarfile

from builds.engine.container import IterStream, LineSplitter, proxy_env_from
from builds.engine.image import dockerfile_for, write_context
from builds.engine.layers import layer_context, plan_layers


def _tar(entries: dict[str, bytes | tuple | None]) -> bytes:
    """A tar of entries: None a directory, bytes a file, (type, target) a link."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(content, tuple):
                info.type, info.linkname = content
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_dockerfile_copies_dependencies_first_and_runs_web_by_default():
    text = dockerfile_for(
        base_image="pier/stack-run:latest",
        dependency_dirs=[".venv"],
        web_command="gunicorn app:wsgi",
        labels={"pier.app": "shop", "pier.process_types": json.dumps({"web": "x"})},
    )
    lines = text.splitlines()
    assert lines[0] == "FROM pier/stack-run:latest"
    assert lines[1] == "COPY --chown=app:app deps/.venv /app/.venv"
    assert lines[2] == "COPY --chown=app:app app /app"
    assert lines[3].startswith('LABEL "pier.app"="shop" "pier.process_types"=')
    assert 'CMD ["gunicorn app:wsgi"]' in lines
    assert lines[-1] == "USER app"


def test_context_splits_dependency_folders_from_the_app():
    exported = _tar(
        {
            "app": None,
            "app/app.py": b"print(1)\n",
            "app/.venv": None,
            "app/.venv/bin/python": b"#!",
            "app/node_modules/ms/index.js": b"x",
        }
    )
    chunks = [exported[i : i + 700] for i in range(0, len(exported), 700)]
    context, size = write_context(chunks, base_image="run", web_command=None, labels={})
    with tarfile.open(fileobj=context) as tar:
        names = tar.getnames()
        dockerfile = tar.extractfile("Dockerfile").read().decode()
    assert size == len(b"print(1)\n") + 2 + 1
    assert set(names) == {
        "app",
        "app/app.py",
        "deps/.venv",
        "deps/.venv/bin/python",
        "deps/node_modules/ms/index.js",
        "Dockerfile",
    }
    assert "COPY --chown=app:app deps/node_modules /app/node_modules" in dockerfile
    assert 'CMD ["bash"]' in dockerfile


def test_iter_stream_reads_across_chunks():
    stream = io.BufferedReader(IterStream([b"ab", b"", b"cde", b"f"]))
    assert stream.read(4) == b"abcd"
    assert stream.read() == b"ef"


def test_line_splitter_joins_partial_lines_and_keeps_the_last_redraw():
    lines = []
    splitter = LineSplitter(lines.append)
    splitter.feed(b"-----> Inst")
    splitter.feed(b"alling\n 10%\r 50%\r100%\r\nlast")
    splitter.close()
    assert lines == ["-----> Installing", "100%", "last"]


def test_proxy_settings_are_passed_under_both_spellings():
    env = {"https_proxy": "http://p:3128", "NO_PROXY": "localhost", "PATH": "/bin"}
    assert proxy_env_from(env) == {
        "HTTPS_PROXY": "http://p:3128",
        "https_proxy": "http://p:3128",
        "NO_PROXY": "localhost",
        "no_proxy": "localhost",
    }


RUN = "pier/stack-run:latest"


def test_layer_context_puts_the_source_at_the_folder_from_the_parent():
    [layer] = plan_layers(
        ".venv\t/cache/python/venv\tk", repository="pier/id1", run_image=RUN, run_image_id="r1"
    )
    exported = _tar(
        {
            "venv": None,
            "venv/bin/python": (tarfile.SYMTYPE, "/usr/bin/python3"),
            "venv/lib/a.py": b"a",
            "venv/lib/b.py": (tarfile.LNKTYPE, "venv/lib/a.py"),
        }
    )
    with layer_context([exported], layer) as context, tarfile.open(fileobj=context) as tar:
        assert tar.getnames() == [
            "deps/.venv",
            "deps/.venv/bin/python",
            "deps/.venv/lib/a.py",
            "deps/.venv/lib/b.py",
            "Dockerfile",
        ]
        assert tar.getmember("deps/.venv/lib/b.py").linkname == "deps/.venv/lib/a.py"
        assert tar.getmember("deps/.venv/bin/python").linkname == "/usr/bin/python3"
        dockerfile = tar.extractfile("Dockerfile").read().decode()
    assert dockerfile == f"FROM {RUN}\nCOPY --chown=app:app deps/.venv /app/.venv\n"


def test_the_app_context_leaves_declared_layers_out_and_builds_on_the_last():
    exported = _tar(
        {
            "app": None,
            "app/app.py": b"x",
            "app/.venv": (tarfile.SYMTYPE, "/cache/python/venv"),
            "app/.venvish/keep.txt": b"kept",
        }
    )
    context, size = write_context(
        [exported],
        base_image="pier/id1:deps-1",
        web_command=None,
        labels={},
        layer_folders=[".venv"],
    )
    with context, tarfile.open(fileobj=context) as tar:
        names = tar.getnames()
        dockerfile = tar.extractfile("Dockerfile").read().decode()
    assert names == ["app", "app/app.py", "app/.venvish/keep.txt", "Dockerfile"]
    assert dockerfile.startswith("FROM pier/id1:deps-1\nCOPY --chown=app:app app /app\n")
    assert size == 1 + 4
