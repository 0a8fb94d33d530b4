"""swe-monkeys: repeated sampling with automatic verification (Brown et al., 2024, "Large Language Monkeys").

The package root only holds the version. Heavy dependencies (docker, scipy, vllm) are imported
lazily by the modules that need them, so `import swe_monkeys` and `swe-monkeys --help` stay fast.
"""

__version__ = "0.1.0"
