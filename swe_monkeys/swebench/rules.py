"""What a candidate may not change, and how large a candidate may be: the rules intake and the
in-container harness share (the harness gets REVERT_RULES in its JSON job and puts back what
matches after applying a candidate). `is_test_path` is the same rules' test for one path.
"""

from __future__ import annotations

import re

# What the harness puts back after applying a candidate, and the reason it reports: paths the
# tests are judged by, and files that tools read by name rather than through an import -- pytest
# (conftest.py, pytest.ini), the interpreter at start-up (sitecustomize.py, *.pth), git
# (.gitattributes make root-run git re-encode files), distribution metadata (a *.dist-info with a
# pytest11 entry point is a plugin) and bytecode (a .pyc runs instead of the source beside it).
# Applied with re.search to repo-relative POSIX paths, here and by the harness (any Python 3).
# The harness also owns pytest's configuration outright (-c with the pristine file) and puts back
# the test patch's paths, their directories, and symlinks leaving the tree.
REVERT_RULES: tuple[tuple[str, str], ...] = (
    (r"(^|/)(test|tests|testing)(/|$)", "test file"),  # a test directory anywhere (tests/, pkg/testing/...)
    (r"(^|/)test_[^/]*\.py$", "test file"),
    (r"(^|/)[^/]*_test\.py$", "test file"),
    (r"(^|/)tests\.py$", "test file"),
    (r"(^|/)conftest\.py$", "pytest configuration"),
    (r"(^|/)\.?(pytest|tox)\.ini$", "pytest configuration"),
    (r"(^|/)(sitecustomize|usercustomize)\.py$", "interpreter start-up hook"),
    (r"\.pth$", "interpreter start-up hook"),
    (r"(^|/)\.git(attributes|ignore|modules)$", "git configuration"),
    (r"(^|/)[^/]+\.(dist|egg)-info(/|$)|\.egg-link$", "distribution metadata"),
    (r"(^|/)__pycache__(/|$)|\.py[co]$", "bytecode"),
)
TEST_PATH_PATTERNS: tuple[str, ...] = tuple(pattern for pattern, _ in REVERT_RULES)
_TEST_PATHS = tuple(re.compile(p) for p in TEST_PATH_PATTERNS)

# Intake refuses what no fix needs and what would make judging it cost unbounded work (a patch of
# 50,000 new files once kept the harness busy past its limit, an infra error retried forever).
MAX_PATCH_BYTES = 1 << 20
MAX_PATCH_FILES = 200


def is_test_path(path: str) -> bool:
    """True for test files and tool configuration a candidate cannot change (the harness puts them back)."""
    return any(p.search(path) for p in _TEST_PATHS)
