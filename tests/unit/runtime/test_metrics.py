"""Metrics buckets (merging, percentiles from histograms) and cgroup files, v1 and v2."""

import random

import pytest

from runtime.metrics import buckets
from runtime.metrics.cgroups import CgroupReader
from runtime.metrics.store import resolution_for


def _bucket(latencies, start=0, status=200):
    bucket = buckets.new(start)
    for ms in latencies:
        buckets.add_request(bucket, status, ms)
    return bucket


def test_percentiles_come_from_the_histogram_within_a_bin():
    rng = random.Random(7)
    latencies = [rng.uniform(20, 60) for _ in range(900)] + [rng.uniform(400, 480)
                                                              for _ in range(100)]
    bucket = _bucket(latencies)
    assert 30 <= buckets.percentile(bucket["h"], 0.5) <= 50
    assert 400 <= buckets.percentile(bucket["h"], 0.95) <= 500
    assert buckets.percentile(buckets.new(0)["h"], 0.95) is None


def test_merged_buckets_are_exact_sums_and_keep_the_peak_memory():
    a, b = _bucket([10] * 3), _bucket([900], status=503)
    buckets.add_process(a, "web.1", cpu=1.0, seconds=10, memory=100, limit=1000)
    buckets.add_process(b, "web.1", cpu=3.0, seconds=10, memory=300, limit=1000)
    b["o"] = 1
    merged = buckets.merge(buckets.new(0), a)
    buckets.merge(merged, b)
    assert merged["n"] == 4 and merged["s"] == {"2": 3, "5": 1} and merged["o"] == 1
    assert merged["p"]["web.1"] == {"cpu": 4.0, "sec": 20, "mem": 300, "lim": 1000}
    assert sum(merged["h"]) == 4


def test_the_coarsest_ring_covering_a_span_at_the_step_is_read():
    assert resolution_for(3600) == 10
    assert resolution_for(3601) == 60
    assert resolution_for(86400) == 60
    assert resolution_for(86400, step=600) == 600
    assert resolution_for(86400, step=300) == 60
    assert resolution_for(3600, step=30) == 10
    assert resolution_for(7 * 86400, step=10) == 600


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v1_files(tmp_path):
    cid = "abc123"
    _write(tmp_path / "cpuacct/docker" / cid / "cpuacct.usage", "2500000000\n")
    memory = tmp_path / "memory/docker" / cid
    _write(memory / "memory.usage_in_bytes", "50000000\n")
    _write(memory / "memory.stat", "cache 1\ntotal_inactive_file 10000000\n")
    _write(memory / "memory.limit_in_bytes", "67108864\n")
    sample = CgroupReader(tmp_path).read(cid)
    assert sample.cpu_seconds == pytest.approx(2.5)
    assert sample.memory == 40_000_000 and sample.limit == 67108864
    assert CgroupReader(tmp_path).read("not-running") is None


def test_cgroup_v2_files_with_either_driver(tmp_path):
    _write(tmp_path / "cgroup.controllers", "cpu memory\n")
    for directory in ("docker/c1", "system.slice/docker-c2.scope"):
        _write(tmp_path / directory / "cpu.stat", "usage_usec 1500000\nuser_usec 1\n")
        _write(tmp_path / directory / "memory.current", "2000000\n")
        _write(tmp_path / directory / "memory.stat", "anon 1\ninactive_file 500000\n")
        _write(tmp_path / directory / "memory.max", "max\n")
    reader = CgroupReader(tmp_path)
    for cid in ("c1", "c2"):
        sample = reader.read(cid)
        assert sample.cpu_seconds == pytest.approx(1.5)
        assert sample.memory == 1_500_000 and sample.limit is None
