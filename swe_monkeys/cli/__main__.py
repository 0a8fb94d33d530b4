"""`python -m swe_monkeys.cli`."""

from swe_monkeys.cli import main

main()
