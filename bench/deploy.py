"""Deploy time: `git push` to Pier vs a hand-written Dockerfile, until the app answers.

Pier runs whole, as tests/e2e/conftest.py starts it: ``manage.py up`` with a temp data dir,
its own ports, SQLite and an embedded Redis. The app is the Django fixture
``tests/fixtures/apps/django`` copied into a temp git repo.

- ``pier cold``: a fresh app (so a fresh, empty cache volume ``pier-cache-<app id>``):
  ``git push`` until the app answers through the router (``Host: <app>.localhost``),
- ``pier warm``: a one-line code change (dependencies unchanged), pushed the same way.

The baseline, in the same run: the same app built from a plain two-stage Dockerfile
(venv + pip install + collectstatic in ``pier/stack-build`` -- the run image has no
ensurepip -- then ``COPY --from`` into ``FROM pier/stack-run:latest``, CMD gunicorn),
``docker build`` + ``docker run`` on a user network with no published port, until it
answers at its container IP:

- ``docker cold``: ``docker build --no-cache``,
- ``docker warm``: the same one-line change, layer cache as Docker keeps it.

This machine reaches PyPI through a TLS-intercepting proxy; the Dockerfile gets the host's
CA bundle as a file for pip in the build stage only (Pier mounts it into its build
containers); it never reaches the final image. The baseline images are removed at the end.

Every Pier deploy is also profiled: each line of the push output is timed as it arrives
and the runtime's log gives the times of its events, which split the deploy into phases
(receive, build container, buildpack compile, dependency layers + export, image commit,
release, container start, health, router switch); the median of each is printed and kept
in the results (``profile_seconds``).

    .venv/bin/python bench/deploy.py            # 2 repetitions (cold+warm each)
    .venv/bin/python bench/deploy.py --quick    # 1 repetition
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import (
    ROOT,
    free_port,
    machine_info,
    parse_count,
    ratio,
    require_docker,
    table,
    write_result,
)

sys.path.insert(0, str(ROOT / "platform"))

FIXTURE = ROOT / "tests" / "fixtures" / "apps" / "django"
TARGETS = {"warm": 1.5, "cold": 1.3}  # Pier/Docker at most (issue 19)

DOCKERFILE = """\
FROM pier/stack-build:latest AS build
WORKDIR /app
COPY pier-bench-ca.crt /tmp/ca.crt
COPY requirements.txt /app/requirements.txt
RUN python3 -m venv /app/.venv \\
 && PIP_CERT=/tmp/ca.crt /app/.venv/bin/pip install --disable-pip-version-check \\
    --no-input -r requirements.txt
COPY . /app
RUN rm -f /app/pier-bench-ca.crt && /app/.venv/bin/python manage.py collectstatic --noinput

FROM pier/stack-run:latest
WORKDIR /app
COPY --from=build /app /app
ENV PORT=5000
CMD ["/app/.venv/bin/gunicorn", "hello.wsgi", "--bind", "0.0.0.0:5000"]
"""
DOCKERIGNORE = ".git\n.venv\nstaticfiles\n"


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "bench",
           "GIT_AUTHOR_EMAIL": "bench@example.com", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "bench@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)


def change_code(src: Path, marker: str) -> None:
    """The one-line change: the page's text says which deploy it is."""
    views = src / "pages" / "views.py"
    text = views.read_text()
    start = text.index('f"django ok')
    end = text.index(" version=", start)
    views.write_text(text[:start] + f'f"django ok {marker}' + text[end:])


def wait_answer(url: str, expect: str, headers: dict | None = None,
                timeout: float = 300.0) -> float:
    import httpx

    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, headers=headers or {}, timeout=2)
            if response.status_code == 200 and expect in response.text:
                return time.monotonic()
            last = f"{response.status_code} {response.text[:80]!r}"
        except httpx.HTTPError as e:
            last = repr(e)
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer {expect!r} in {timeout:g}s (last: {last})")


# -- Pier ----------------------------------------------------------------------------------


class Platform:
    def __init__(self, tmp: Path):
        self.data_dir = tmp / "pier-data"
        self.data_dir.mkdir()
        self.port, self.router_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.data_dir / "platform.log"
        self.proc: subprocess.Popen | None = None
        self.token = ""
        self.app_ids: dict[str, tuple[str, str]] = {}

    def start(self) -> None:
        env = {**os.environ, "PORT": str(self.port), "PIER_DATA_DIR": str(self.data_dir),
               "PIER_ADMIN_EMAIL": "bench@example.com",
               "PIER_ROUTER_PORT": str(self.router_port),
               "WEB_CONCURRENCY": "1", "PIER_BUILD_CONCURRENCY": "1"}
        for name in ("PIER_API_URL", "DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)  # SQLite and the embedded Redis: nothing shared
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "up"], cwd=ROOT, env=env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.token = self._wait_until_up()

    def _wait_until_up(self) -> str:
        import httpx

        marker = "Its API token (shown once):"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the platform exited:\n{self.log.read_text()[-3000:]}")
            text = self.log.read_text()
            try:
                healthy = httpx.get(self.url + "/api/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                healthy = False
            if healthy and marker in text:
                return text.split(marker, 1)[1].split()[0]
            time.sleep(0.5)
        raise RuntimeError(f"the platform did not come up:\n{self.log.read_text()[-3000:]}")

    def create_app(self, name: str) -> str:
        """Create the app; return its id (which names its images and cache volume)."""
        import httpx

        response = httpx.post(self.url + "/api/apps", json={"name": name}, timeout=30,
                              headers={"Authorization": f"Bearer {self.token}"})
        if response.status_code != 201:
            raise RuntimeError(f"creating {name}: {response.status_code} {response.text}")
        self.app_ids[name] = (response.json()["id"], name)
        return response.json()["id"]

    def git_url(self, app: str) -> str:
        return f"http://user:{self.token}@127.0.0.1:{self.port}/{app}.git"

    def runtime_events(self, app: str, since: float) -> list[tuple[float, str]]:
        """The runtime's log lines about app since the wall-clock time since: (seconds, text).

        The runtime logs with asctime (local time, milliseconds) at the start of each line.
        """
        events = []
        for line in self.log.read_text(errors="replace").splitlines():
            match = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) INFO runtime\.reconciler: "
                              r"(\S+?)\[", line)
            if not match or match.group(3) not in self.app_ids.get(app, ()):
                continue
            stamp = time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S"))
            at = stamp + int(match.group(2)) / 1000 - since
            if at >= 0:
                events.append((at, line[match.end():]))
        return events

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def remove_app_containers(self, client) -> None:
        label = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:12]
        for c in client.containers.list(all=True, filters={"label": f"pier.platform={label}"}):
            c.remove(force=True)


def pier_deploy(platform: Platform, repo: Path, app: str, marker: str) -> dict:
    change_code(repo, marker)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", marker, cwd=repo)
    start, wall = time.monotonic(), time.time()
    code, lines = git_push_timed(platform.git_url(app), repo)
    pushed = time.monotonic()
    if code != 0:
        raise RuntimeError("git push failed:\n" + "\n".join(line for _, line in lines[-60:]))
    answered = wait_answer(f"http://127.0.0.1:{platform.router_port}/", f"django ok {marker}",
                           headers={"Host": f"{app}.localhost"})
    return {"seconds": round(answered - start, 3), "push_seconds": round(pushed - start, 3),
            "phases": phases(lines, platform.runtime_events(app, since=wall), pushed - start,
                             answered - start)}


def git_push_timed(url: str, repo: Path) -> tuple[int, list[tuple[float, str]]]:
    """git push, each line of its output with the seconds since the push began."""
    start = time.monotonic()
    proc = subprocess.Popen(["git", "push", "--progress", url, "HEAD:main"], cwd=repo,
                            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines = []
    for raw in iter(proc.stderr.readline, b""):
        for part in raw.decode(errors="replace").replace("\r", "\n").splitlines():
            if part.strip():
                lines.append((time.monotonic() - start, part.removeprefix("remote: ").rstrip()))
    return proc.wait(), lines


# Where each phase of a Pier deploy ends, as the push output and the runtime log show it:
# (phase, text of the line that ends it), in order; a phase whose line is missing (an older
# build log, no release phase) is left out and its time counts in the next one.
PUSH_MARKS = (
    ("receive (upload, unpack, queue)", "-----> Building "),
    ("build container start + copy in + detect", "app detected"),
    ("buildpack compile", "xporting the image"),
    ("dependency layers + export of /app", "Exported "),
    ("image commit (docker build of the app image)", "Done: "),
    ("release phase + release record", "-----> Launching"),
)
RUNTIME_MARKS = (
    ("runtime notices the release", "Deploying v"),
    ("container start", "Starting process with command"),
    ("health (checked once per reconcile pass)", "State changed from starting to up"),
    ("router switch", " is up"),
)


def phases(lines: list[tuple[float, str]], events: list[tuple[float, str]], pushed: float,
           answered: float) -> dict[str, float]:
    """Return {phase: seconds} from the timed push lines and runtime events."""
    out, last, index = {}, 0.0, 0
    for name, text in PUSH_MARKS:
        found = next((i for i in range(index, len(lines)) if text in lines[i][1]), None)
        if found is not None:
            out[name] = round(lines[found][0] - last, 3)
            last, index = lines[found][0], found
    for name, text in RUNTIME_MARKS:
        at = next((t for t, message in events if text in message and t >= last), None)
        if at is not None:
            out[name] = round(at - last, 3)
            last = at
    out["until the router answers"] = round(answered - last, 3)
    out["(git push returned)"] = round(pushed, 3)
    return out


def median_phases(runs: list[dict]) -> dict[str, float]:
    names = [name for run in runs for name in run["phases"]]
    return {name: round(statistics.median(run["phases"][name] for run in runs
                                          if name in run["phases"]), 3)
            for name in dict.fromkeys(names)}


# -- plain Docker ------------------------------------------------------------------------


def docker_deploy(client, src: Path, tag: str, network: str, marker: str, *, cold: bool,
                  label: str, image_ids: list[str]) -> tuple[dict, str]:
    change_code(src, marker)
    start = time.monotonic()
    command = ["docker", "build", "-q", "-t", tag, str(src)]
    if cold:
        command.insert(2, "--no-cache")
    built = subprocess.run(command, capture_output=True, text=True,
                           env={**os.environ, "DOCKER_BUILDKIT": "0"})
    if built.returncode != 0:
        raise RuntimeError(f"docker build failed:\n{built.stdout[-2000:]}\n{built.stderr[-3000:]}")
    built_at = time.monotonic()
    image_ids.append(client.images.get(tag).id)
    container = client.containers.run(tag, detach=True, network=network,
                                      labels={"pier.bench": label})
    container.reload()
    ip = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    answered = wait_answer(f"http://{ip}:5000/", f"django ok {marker}")
    return ({"seconds": round(answered - start, 3), "build_seconds": round(built_at - start, 3)},
            container.id)


def ca_bundle() -> Path:
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise RuntimeError("no CA bundle found for pip inside docker build")


# -- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _, repeat = parse_count(parser, "repeat", quick=1, full=2,
                            quick_help="one cold+warm repetition",
                            help="cold+warm repetitions")
    require_docker()

    import docker
    import docker.errors

    from builds.engine import ensure_stack_images

    ensure_stack_images(progress=lambda line: None)
    client = docker.from_env()
    info = machine_info()
    label = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix="pier-bench-deploy-"))
    platform = Platform(tmp)
    network = f"pier-bench-{label}"
    apps: list[str] = []
    tags: list[str] = []
    image_ids: list[str] = []
    samples: dict[str, list[dict]] = {"pier cold": [], "pier warm": [],
                                      "docker cold": [], "docker warm": []}
    try:
        client.networks.create(network, driver="bridge", labels={"pier.bench": label})
        print("starting the platform (manage.py up)...", flush=True)
        platform.start()
        print(f"deploy bench: {repeat} repetition(s), nproc={info['nproc']}", flush=True)
        for r in range(repeat):
            # Pier: a fresh app, cold then warm.
            app = f"bench-dj-{uuid.uuid4().hex[:6]}"
            apps.append(platform.create_app(app))  # a new id: its cache volume is empty
            repo = tmp / app
            shutil.copytree(FIXTURE, repo)
            git("init", "-q", "--initial-branch=main", cwd=repo)
            for kind in ("cold", "warm"):
                sample = pier_deploy(platform, repo, app, f"{kind}{r}")
                samples[f"pier {kind}"].append(sample)
                print(f"  rep {r + 1} pier   {kind}  {sample['seconds']:7.2f} s  "
                      f"(git push returned at {sample['push_seconds']:.2f} s)\n"
                      f"    phases: {sample['phases']}", flush=True)

            # Docker: the same app from a plain Dockerfile, cold then warm.
            src = tmp / f"docker-{r}"
            shutil.copytree(FIXTURE, src)
            shutil.copy(ca_bundle(), src / "pier-bench-ca.crt")
            (src / "Dockerfile").write_text(DOCKERFILE)
            (src / ".dockerignore").write_text(DOCKERIGNORE)
            tag = f"pier-bench/django-{label}:{r}"
            tags.append(tag)
            previous = None
            for kind in ("cold", "warm"):
                sample, cid = docker_deploy(client, src, tag, network, f"{kind}{r}",
                                            cold=kind == "cold", label=label,
                                            image_ids=image_ids)
                samples[f"docker {kind}"].append(sample)
                print(f"  rep {r + 1} docker {kind}  {sample['seconds']:7.2f} s  "
                      f"(docker build took {sample['build_seconds']:.2f} s)", flush=True)
                if previous:
                    client.containers.get(previous).remove(force=True)
                previous = cid

        results = {name: {
            "median_seconds": round(statistics.median(s["seconds"] for s in runs), 3),
            "runs": runs,
        } for name, runs in samples.items()}
        ratios = {kind: ratio(results[f"pier {kind}"]["median_seconds"],
                              results[f"docker {kind}"]["median_seconds"])
                  for kind in ("cold", "warm")}
        rows = []
        for kind in ("cold", "warm"):
            p, d = results[f"pier {kind}"], results[f"docker {kind}"]
            rows.append([kind, p["median_seconds"], d["median_seconds"],
                         f"{ratios[kind]:.2f}", f"<= {TARGETS[kind]:g}",
                         "yes" if ratios[kind] <= TARGETS[kind] else "NO"])
        print(f"\nseconds from push/build until the app answers (median of {repeat})")
        print(table(["deploy", "pier s", "docker s", "pier/docker", "target", "met"], rows))
        profile = {kind: median_phases(samples[f"pier {kind}"]) for kind in ("cold", "warm")}
        print("\nwhere a Pier deploy's seconds go (median per phase)")
        print(table(["phase", "cold s", "warm s"],
                    [[name, profile["cold"].get(name, "-"), seconds]
                     for name, seconds in profile["warm"].items()]))
        path = write_result("deploy", {
            "benchmark": "deploy",
            "machine": info,
            "method": {
                "app": "tests/fixtures/apps/django (Django + gunicorn, collectstatic)",
                "pier": "manage.py up in a temp data dir (SQLite, embedded Redis); timed from "
                        "git push until GET / with Host <app>.localhost on the router port "
                        "shows the new text; cold = fresh app, cache volume removed",
                "docker": "plain two-stage Dockerfile: venv, pip install -r, collectstatic in "
                          "pier/stack-build, COPY --from into FROM pier/stack-run:latest, CMD "
                          "gunicorn; docker build (classic builder) + "
                          "docker run on a user network, timed until GET http://<ip>:5000/ "
                          "shows the new text; cold = --no-cache",
                "warm": "one-line change in pages/views.py, requirements unchanged",
                "repeat": repeat,
            },
            "targets_pier_over_docker": {k: f"<= {v:g}" for k, v in TARGETS.items()},
            "ratios_pier_over_docker": ratios,
            "meets_targets": {k: bool(ratios[k] and ratios[k] <= TARGETS[k]) for k in TARGETS},
            "profile_seconds": profile,
            "results": results,
        })
        print(f"\nwrote {path}")
        return 0
    except Exception:
        for name in ("hooks.log", "platform.log"):
            log = platform.data_dir / name
            if log.exists():
                print(f"--- last lines of {name} ---\n{log.read_text()[-4000:]}", file=sys.stderr)
        raise
    finally:
        platform.stop()
        for c in client.containers.list(all=True, filters={"label": f"pier.bench={label}"}):
            c.remove(force=True)
        platform.remove_app_containers(client)
        for app in apps:
            for image in client.images.list(name=f"pier/{app}"):
                for t in image.tags:
                    client.images.remove(t, force=True)
            try:
                client.volumes.get(f"pier-cache-{app}").remove(force=True)
            except docker.errors.NotFound:
                pass
        for image in tags + image_ids:
            try:
                client.images.remove(image, force=True)
            except docker.errors.ImageNotFound:
                pass
        for net in client.networks.list(names=[network]):
            net.remove()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
