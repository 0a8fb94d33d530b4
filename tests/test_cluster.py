"""Sweeps on a real local Ray cluster: two "nodes" (a head and a second raylet, each advertising
`docker: 1`) started by the test, real Docker verification of the embedded examples with a FAKE
scripted sampler, the driver a real `sweep` subprocess.

- a run verified on Ray (`verify --run --ray`) gives the single-machine run's rows and verdicts, with
  an actor per node;
- a verification actor killed (SIGKILL) mid-sweep: its work is re-run elsewhere, the rows are the
  same, and no container of the dead actor is left;
- a whole node lost mid-sweep (its raylet and processes killed): the same;
- the driver killed with -9 and started again resumes to the same rows;
- the vLLM CPU server started as a Ray actor serves a sweep (marked vllm);
- several endpoints of one model give the samples one endpoint gives (no Ray needed).

Without Ray the cluster tests skip with the reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_sweep import _rows, _verdicts, sweep_script

pytestmark = [pytest.mark.ray, pytest.mark.docker, pytest.mark.slow]
SAMPLES = "6"  # indices 0-5 of the script: gold calc, wrong, gold daterange, a duplicate, no edit, gold slugkit
ACTOR_LINE = re.compile(r"verification actor pid (\d+) on (\S+ \(\w+\))")


def _need_ray():
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Ray is not installed (pip install -e '.[ray]')")
        pytest.skip("Ray is not installed (pip install -e '.[ray]')")


SMALL_NODE = {"num_cpus": 1, "resources": {"docker": 1}, "object_store_memory": 80 * 2**20}


@pytest.fixture(scope="module")
def ray_nodes():
    """A two-node local cluster (ray.cluster_utils.Cluster): each node a raylet of its own with `docker: 1`."""
    _need_ray()
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={**SMALL_NODE, "include_dashboard": False})
    cluster.add_node(**SMALL_NODE)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


@pytest.fixture(scope="module")
def ray_cluster(ray_nodes):
    """The address of the two-node cluster."""
    return ray_nodes.address


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, examples) -> Path:
    path = tmp_path_factory.mktemp("data") / "instances.jsonl"
    path.write_text("".join(json.dumps(examples[n].instance.to_row()) + "\n" for n in ("calc", "daterange", "slugkit")))
    return path


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("script") / "script.json"
    path.write_text(json.dumps({"completions": sweep_script(), "latency": 0.3, "max_n": 1}))
    return path


def sweep(run: Path, dataset: Path, script: Path, repo_cache: Path, *extra: str, stderr=subprocess.PIPE,
          wait: bool = True):
    """`sweep` as its own process (the driver), with a verdict cache of its own."""
    env = {**os.environ, "SWE_MONKEYS_CACHE": str(run.parent / f"{run.name}-cache")}
    cmd = [sys.executable, "-m", "swe_monkeys.cli.solve", "sweep", "--dataset", str(dataset), "--run", str(run),
           "--fake", str(script), "--repo-cache", str(repo_cache), "--samples", SAMPLES, "--concurrency", "2", "-q",
           *extra]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stderr


@pytest.fixture(scope="module")
def single_machine(tmp_path_factory, dataset, script, repo_cache, images):
    """The rows and verdicts of the sweep on this machine alone (no Ray)."""
    run = tmp_path_factory.mktemp("single") / "run"
    sweep(run, dataset, script, repo_cache, "--workers", "2")
    return _rows(run), _verdicts(run)


def containers_of(pids) -> list[str]:
    from swe_monkeys.sandbox.docker_sandbox import OWNER_LABEL

    out = []
    for pid in pids:
        out += subprocess.run(["docker", "ps", "-aq", "--filter", f"label={OWNER_LABEL}={pid}"],
                              capture_output=True, text=True, check=True).stdout.split()
    return out


def test_sampled_here_verified_on_ray_gives_the_single_machine_rows(tmp_path, ray_cluster, dataset, script,
                                                                    repo_cache, single_machine):
    """`sweep --no-verify`, then `verify --run R --ray ADDRESS` (the sweep verifying on Ray as it samples
    is the subject of the two kill tests below)."""
    run = tmp_path / "run"
    sweep(run, dataset, script, repo_cache, "--no-verify")
    env = {**os.environ, "SWE_MONKEYS_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "swe_monkeys.cli", "verify", "--run", str(run), "--ray", ray_cluster,
                           "--repo-cache", str(repo_cache), "-q"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    log = done.stderr
    actors = ACTOR_LINE.findall(log)
    assert len({node for _, node in actors}) == 2, log  # one actor on each node
    assert (_rows(run), _verdicts(run)) == single_machine
    assert all(status not in (None, "infra_error") for _, _, status in _verdicts(run))
    done = [line for line in log.splitlines() if line.startswith("[cluster] done;")]
    assert done and re.search(r"\d+ judged, [\d.]+/s", done[0]), log  # per-node throughput
    assert containers_of(pid for pid, _ in actors) == []  # closed actors removed their containers


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _verdict_count(run: Path) -> int:
    try:
        return sum(status is not None for _, _, status in _verdicts(run))
    except Exception:  # the store is not there yet
        return 0


def test_a_verification_actor_killed_mid_sweep_changes_nothing(tmp_path, ray_cluster, dataset, script, repo_cache,
                                                               single_machine):
    run, err = tmp_path / "run", tmp_path / "stderr.txt"
    with err.open("w") as stderr:
        driver = sweep(run, dataset, script, repo_cache, "--ray", ray_cluster, stderr=stderr, wait=False)
        actors = _wait_for(lambda: len(ACTOR_LINE.findall(err.read_text())) >= 2 and ACTOR_LINE.findall(
            err.read_text()), 120, "two verification actors")
        # The victim: an actor with a container up (judging, or started ahead for its next candidate).
        _wait_for(lambda: _verdict_count(run) >= 1, 240, "a first verdict")
        victim = _wait_for(lambda: next((pid for pid, _ in actors if containers_of([pid])), None), 60,
                           "an actor's container")
        os.kill(int(victim), signal.SIGKILL)
        assert driver.wait(timeout=600) == 0, err.read_text()
    log = err.read_text()
    assert f"verification actor pid {victim}" in log and "lost" in log, log
    assert (_rows(run), _verdicts(run)) == single_machine
    assert containers_of([victim]) == []  # its replacement reaped what the dead actor left
    assert containers_of(pid for pid, _ in ACTOR_LINE.findall(log)) == []


def test_a_node_lost_mid_sweep_changes_nothing(tmp_path, ray_nodes, dataset, script, repo_cache, single_machine):
    """A third node joins, gets an actor and work, and is then lost whole (its raylet and every
    process on it killed, as a machine that goes away): its candidates are judged elsewhere, no
    replacement is started on a dead node, and the rows and verdicts are the single machine's."""
    extra = ray_nodes.add_node(**SMALL_NODE)
    ray_nodes.wait_for_nodes()
    lost = False
    try:
        run, err = tmp_path / "run", tmp_path / "stderr.txt"
        with err.open("w") as stderr:
            driver = sweep(run, dataset, script, repo_cache, "--ray", ray_nodes.address, stderr=stderr, wait=False)
            on_extra = _wait_for(lambda: next((pid for pid, where in ACTOR_LINE.findall(err.read_text())
                                               if extra.node_id[:8] in where), None), 120, "an actor on the new node")
            _wait_for(lambda: containers_of([on_extra]), 240, "work on the new node")
            ray_nodes.remove_node(extra, allow_graceful=False)
            lost = True
            assert driver.wait(timeout=600) == 0, err.read_text()
        log = err.read_text()
        assert f"verification actor pid {on_extra}" in log and "lost" in log, log
        assert (_rows(run), _verdicts(run)) == single_machine
        assert all(status not in (None, "infra_error") for _, _, status in _verdicts(run))
        assert _wait_for(lambda: containers_of([on_extra]) == [], 60, "the lost node's containers to go")
    finally:
        if not lost:
            ray_nodes.remove_node(extra)


def test_driver_killed_with_minus_nine_resumes(tmp_path, ray_cluster, dataset, repo_cache, single_machine):
    slow = tmp_path / "slow.json"  # sampling outlasts the first verdicts: the kill lands amid both phases
    slow.write_text(json.dumps({"completions": sweep_script(), "latency": 1.5, "max_n": 1}))
    run, err = tmp_path / "run", tmp_path / "stderr.txt"
    with err.open("w") as stderr:
        driver = sweep(run, dataset, slow, repo_cache, "--ray", ray_cluster, "--concurrency", "1",
                       stderr=stderr, wait=False)
        _wait_for(lambda: _verdict_count(run) >= 1, 240, "a first verdict")
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    partial = _rows(run)
    assert len(partial) < 18, "the kill landed after the sweep ended; slow the fake down"
    first_actors = [pid for pid, _ in ACTOR_LINE.findall(err.read_text())]
    log = sweep(run, dataset, slow, repo_cache, "--ray", ray_cluster)
    resumed = _rows(run)
    assert all(row in resumed for row in partial)  # nothing committed was lost or rewritten
    assert (resumed, _verdicts(run)) == single_machine
    # Ray ended the killed driver's actors; the new ones removed what they had left on their nodes.
    assert containers_of(first_actors) == [] and containers_of(pid for pid, _ in ACTOR_LINE.findall(log)) == []


def test_sigterm_mid_verification_on_ray_leaves_no_container(tmp_path, ray_cluster, examples, repo_cache, images,
                                                              docker_client):
    """Ray replaces the driver's SIGTERM handler with one that aborts on the spot; ours must still
    run: the actors drop their containers, a candidate's hanging test run included."""
    from tests.test_lifecycle import _hanging_completion, _running_tests

    instances, script, err = tmp_path / "instances.jsonl", tmp_path / "script.json", tmp_path / "stderr.txt"
    instances.write_text(json.dumps(examples["calc"].instance.to_row()) + "\n")
    script.write_text(json.dumps([_hanging_completion()]))
    env = {**os.environ, "SWE_MONKEYS_CACHE": str(tmp_path / "cache")}
    with err.open("w") as stderr:
        driver = subprocess.Popen([sys.executable, "-m", "swe_monkeys.cli", "sweep", "--dataset", str(instances),
                                   "--fake", str(script), "-k", "2", "-q", "--repo-cache", str(repo_cache), "--run",
                                   str(tmp_path / "run"), "--ray", ray_cluster], env=env, stdout=subprocess.DEVNULL,
                                  stderr=stderr)
        pids = _wait_for(lambda: [pid for pid, _ in ACTOR_LINE.findall(err.read_text())], 120, "the actors")

        def running() -> bool:
            return _running_tests(docker_client, [docker_client.containers.get(c) for c in containers_of(pids)])

        _wait_for(running, 240, "a candidate's tests to run")
        driver.send_signal(signal.SIGTERM)
        driver.wait(timeout=120)
    _wait_for(lambda: not containers_of(pids), 30, "the actors' containers to go")


def _answers(base_url: str) -> bool:
    import httpx

    try:
        return httpx.get(base_url.removesuffix("/v1") + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_lost_server_actor_leaves_the_sampling_to_the_others(tmp_path, ray_cluster):
    """Model servers as Ray actors, a FAKE engine standing in for vLLM: one actor is killed, its server
    goes with it, and the samples come from the other server with the seeds they always have."""
    from swe_monkeys.cluster.serving import served_on_cluster
    from swe_monkeys.sampling.phase import Problem, SampleConfig, sample_problems
    from swe_monkeys.sampling.protocol import Prompt, SamplingParams
    from swe_monkeys.sampling.server import ServeConfig
    from swe_monkeys.sampling.session import SamplerSpec, open_sampler
    from swe_monkeys.store.run_store import RunStore

    engine = tmp_path / "engine-python"
    engine.write_text(f"#!/bin/sh\n[ \"$1\" = -c ] && exit 1\nshift 2\n"
                      f"exec {sys.executable} -m swe_monkeys.sampling.fake_server \"$@\"\n")
    engine.chmod(0o755)
    (tmp_path / "my-model").mkdir()
    config = ServeConfig(model=str(tmp_path / "my-model"), python=str(engine), startup_timeout=120)
    problems = [Problem("p1", Prompt.chat("Fix parse().")), Problem("p2", Prompt.chat("Add --verbose."))]
    with served_on_cluster(config, ray_cluster, replicas=2) as endpoints:
        assert len({e.node for e in endpoints}) == 2 and all(_answers(e.base_url) for e in endpoints)
        os.kill(endpoints[1].pid, signal.SIGKILL)  # the node's actor is lost
        _wait_for(lambda: not _answers(endpoints[1].base_url), 60, "the lost actor's server to stop")
        spec = SamplerSpec(base_url=",".join(e.base_url for e in endpoints),
                           options={"max_n": 2, "retries": 1, "backoff": 0.01, "backoff_max": 0.02})
        with open_sampler(spec) as session, RunStore(tmp_path / "run") as store:
            sample_problems(store, problems, session.sampler,
                            SampleConfig(samples=4, params=SamplingParams(max_tokens=8, seed=3)))
            metas = store.candidate_metas()
            rows = [(c.problem_id, c.index, metas[cid]["seed"]) for cid, c in store.candidates()]
        assert session.sampler.requests == {endpoints[0].base_url: 4}
    assert rows == [(p, i, 3 + i) for p in ("p1", "p2") for i in range(4)]
    assert not _answers(endpoints[0].base_url)  # stopped with the block


@pytest.mark.vllm
def test_vllm_cpu_server_as_a_ray_actor_serves_a_sweep(tmp_path, ray_cluster, dataset, repo_cache, images,
                                                       vllm_python):
    import httpx

    run = tmp_path / "run"
    env = {**os.environ, "SWE_MONKEYS_VLLM_PYTHON": vllm_python}  # the user's cache: the bundled model is there
    preset = tmp_path / "tiny.yaml"
    preset.write_text("template: swebench_repair\ntemperature: 1.0\nmax_tokens: 48\ncontext_tokens: 1500\n")
    done = subprocess.run([sys.executable, "-m", "swe_monkeys.cli.solve", "sweep", "--dataset", str(dataset),
                           "--instances", "*calc*", "--run", str(run), "--serve", "smollm2-135m", "--samples", "3",
                           "--preset", str(preset), "--repo-cache", str(repo_cache), "--ray", ray_cluster, "-q"],
                          env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    served = re.search(r"vLLM serving \S+ at (http://[\d.]+:\d+/v1)", done.stderr)
    assert served, done.stderr
    from swe_monkeys.store.run_store import RunStore

    with RunStore(run) as store:
        rows = store.sample_table()
        assert store.get_meta("sampling")["backend"]["base_url"] == served.group(1)
    assert [(r["sample_idx"], r["meta"]["seed"]) for r in rows] == [(0, 0), (1, 1), (2, 2)]
    assert all(r["completion_tokens"] > 0 and r["status"] not in (None, "infra_error") for r in rows)
    with pytest.raises(httpx.HTTPError):  # the server went with its actor
        httpx.get(served.group(1).removesuffix("/v1") + "/health", timeout=5)
