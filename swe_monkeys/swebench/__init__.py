"""SWE-bench verification: specs, patch intake, log parsing, grading and the verifier."""
