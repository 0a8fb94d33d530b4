"""Where untrusted code runs: the sandbox protocol and its Docker implementation."""
