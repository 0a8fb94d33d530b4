"""BM25 localisation and the repair prompt, on the example repositories in a real repo cache."""

from __future__ import annotations

import pytest

from swe_monkeys.images.sources import SourceError, find_repo
from swe_monkeys.swebench import prompting
from swe_monkeys.swebench.prompting import (
    PromptConfig, PromptError, approx_tokens, build_prompt, localise, rank_files, repo_files,
)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SWE_MONKEYS_CACHE", str(tmp_path / "cache"))


def test_repo_files_reads_the_base_commit_from_the_bare_mirror(examples, repo_cache):
    calc = examples["calc"].instance
    files = repo_files(find_repo(calc.repo, repo_cache), calc.base_commit)
    assert "calc/parser.py" in files and "def parse_power" in files["calc/parser.py"]
    assert "tests/test_parser.py" in files
    with pytest.raises(SourceError, match="not found"):
        repo_files(find_repo(calc.repo, repo_cache), "0" * 40)


@pytest.mark.parametrize("name, expected", [("calc", "calc/parser.py")])
def test_the_file_the_issue_is_about_ranks_first(examples, repo_cache, name, expected):
    inst = examples[name].instance
    files = repo_files(find_repo(inst.repo, repo_cache), inst.base_commit)
    assert rank_files(inst.problem_statement, files)[0] == expected


def test_every_example_gold_file_is_localised(examples, repo_cache):
    from unidiff import PatchSet

    for example in examples.values():
        inst = example.instance
        gold = {pf.path for pf in PatchSet(inst.patch)}
        paths, _ = prompting.localised_files(inst, repo_cache, PromptConfig(context_tokens=6000))
        assert gold <= set(paths), (inst.instance_id, paths)


def test_budget_tests_and_ties():
    files = {"a.py": "power power power\n" * 100, "b.py": "power\n", "tests/test_a.py": "power power\n"}
    assert localise("power", files, budget_tokens=10) == ["b.py"]  # a.py is too big, tests are left out
    assert "tests/test_a.py" in localise("power", files, 10_000, include_tests=True)
    assert localise("the of and", {"b.py": "x", "a.py": "y"}, 100) == ["a.py", "b.py"]


def test_prompt_is_built_from_the_template_and_cached(examples, repo_cache, monkeypatch):
    inst = examples["calc"].instance
    prompt = build_prompt(inst, repo_cache, PromptConfig(context_tokens=8000))
    assert prompt.files[0] == "calc/parser.py"
    assert "[start of calc/parser.py]" in prompt.text and "<<<<<<< SEARCH" in prompt.text
    assert inst.problem_statement.strip() in prompt.text and "$" not in prompt.text.split("<issue>")[0]
    assert prompt.tokens == approx_tokens(prompt.text) and sum(
        approx_tokens(f) for f in prompt.files) < 8000
    # The second build reads the ranking from the cache: BM25 is not consulted again.
    monkeypatch.setattr(prompting, "rank_files", lambda *a: pytest.fail("ranking not cached"))
    assert build_prompt(inst, repo_cache, PromptConfig(context_tokens=8000)) == prompt


def test_presets_and_templates(tmp_path):
    from swe_monkeys.presets import PresetError, load_preset

    assert load_preset("swebench").temperature == 1.6
    assert load_preset("math").temperature == 0.6 and load_preset("code").temperature == 0.6
    with pytest.raises(PresetError, match="valid: code, demo, math, small, swebench"):
        load_preset("nope")
    typo = tmp_path / "typo.yaml"
    typo.write_text("temprature: 0.2\n")
    with pytest.raises(PresetError, match="unknown keys temprature"):  # a misspelt key is not ignored silently
        load_preset(str(typo))
    typo.write_text("samples: many\n")
    with pytest.raises(PresetError, match="samples must be int"):
        load_preset(str(typo))
    with pytest.raises(PromptError, match="unknown prompt template"):
        prompting.load_template("nope")


def test_missing_repository_is_a_source_error(examples, tmp_path):
    with pytest.raises(SourceError, match="not in the repo cache"):
        build_prompt(examples["calc"].instance, tmp_path)


def test_model_picked_files_come_first_and_are_asked_once_per_run(tmp_path, examples, repo_cache):
    from swe_monkeys.sampling.protocol import SamplingParams
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.sampling.fake import FakeSampler as FakeEditSampler
    from swe_monkeys.swebench.file_picking import parse_picked
    from swe_monkeys.tasks.pipeline import TaskRunConfig, run_task
    from swe_monkeys.tasks.swebench import SWEBench

    assert parse_picked("- `./calc/nodes.py`\n* calc/nope.py\ncalc/nodes.py, calc/parser.py", ["calc/parser.py",
                        "calc/nodes.py"], 3) == ["calc/nodes.py", "calc/parser.py"]
    calc = examples["calc"].instance
    sampler = FakeEditSampler(["calc/nodes.py\nREADME.txt"])  # the FAKE model's answer to every request
    task = SWEBench(repo_cache, PromptConfig(context_tokens=2500, pick_files=2))
    config = TaskRunConfig(samples=1, params=SamplingParams(seed=0), verify=False)
    with RunStore(tmp_path / "run") as store:
        run_task(store, task, [task.problem(calc)], sampler, config)
        assert store.get_meta("picked_files") == {calc.instance_id: ["calc/nodes.py"]}
        requests = sampler.requests
        config.samples = 2
        run_task(store, task, [task.problem(calc)], sampler, config)
        assert sampler.requests == requests + 1  # the grown run reused the pick: one sampling request only
    prompt = build_prompt(calc, repo_cache, task.prompt, ("calc/nodes.py",))
    assert prompt.files[0] == "calc/nodes.py" and prompt.text.index("[start of calc/nodes.py]") < prompt.text.index(
        "[start of calc/parser.py]")
