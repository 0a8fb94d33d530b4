"""Turn a GGUF file into an ordinary Hugging Face model directory that vLLM can serve.

Run as a script by the engine's interpreter (the one with vLLM, hence torch and transformers),
not imported by swe_monkeys: `python convert_gguf.py MODEL.gguf OUT_DIR [--dtype bfloat16]`.
It imports nothing from this project, so it works in a venv that lacks swe_monkeys.

transformers dequantizes the GGUF weights and rebuilds the tokenizer (with its chat template)
from the GGUF metadata. `save_pretrained` refuses a model loaded from GGUF ("quantized with gguf
and is not serializable"), so the weights are copied into a model built from the same config
with its quantization_config removed, and that one is saved.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path


def convert(gguf: Path, out: Path, dtype: str) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything comes from the file: never the hub
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    start = time.monotonic()
    torch_dtype = getattr(torch, dtype)
    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch_dtype)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = torch_dtype
    model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    missing = [k for k in missing if "lm_head" not in k or not config.tie_word_embeddings]
    if missing or unexpected:
        raise SystemExit(f"weights do not match the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    if getattr(tokenizer, "chat_template", None) is None:
        raise SystemExit(f"{gguf} carries no chat template; chat prompts would be malformed")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return {"out": str(out), "dtype": dtype, "seconds": round(time.monotonic() - start, 1),
            "architecture": config.architectures[0] if config.architectures else config.model_type,
            "parameters": sum(p.numel() for p in model.parameters())}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gguf", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--dtype", default="bfloat16")
    args = parser.parse_args(argv)
    print(json.dumps(convert(args.gguf, args.out, args.dtype)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
