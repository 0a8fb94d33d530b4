"""Strict re-checks of resolved SWE-bench candidates against the gold patch's behaviour (issue 24).

SWE-bench resolves a candidate on the FAIL_TO_PASS and PASS_TO_PASS tests of the test patch's files.
Audits of published systems found many of those resolutions fail other tests of the repository or
behave differently from the gold patch (PatchDiff, arXiv 2503.15223: 7.8% and 29.6%). With
`--strict`, each resolved candidate's wider set of the repository's own tests (files.py) is run
in its container right after its judged run, gold is run on the same tests once per instance
(runs.py, cached per test file), and the two are compared test by test (compare.py). The verdict
stays resolved; the candidate gets a strict status beside it, with the tests named.
"""

from __future__ import annotations

STRICT_MODES = ("changed", "full")  # the files the candidate changed decide the tests; every test file
