"""Code generation from an exported model.tflite on a CPU, as a mobile app runs it. No JAX here.

    python -m hrm_jax.export.litert_runner --model-dir DIR --prompt "reverse a string" --language python

Imports only `ai_edge_litert`, NumPy and `tokenizers` (plus the standard library). DIR is what
`hrm-jax export --format tflite` writes: model.tflite, manifest.json, tokenizer.json. The KV caches live inside
the interpreter (resource variables), so the loop an Android/iOS app runs (the README's export section) is:

  1. bucket = the smallest prefill bucket >= the prompt's length; pad the prompt with zeros to it
  2. logits, depth = prefill_<bucket>(inputs, prompt_length, language_id, task_id)
     (the model runs ACT segments over the prompt until its Q head halts: depth is the number of segments)
  3. repeat: token = argmax (or a sample) of logits; stop at <|eos|>;
     logits = decode(token, position = prompt_length + tokens so far, depth)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence

import numpy as np
from ai_edge_litert import interpreter as litert

LANGUAGES = ("cpp", "go", "java", "javascript", "python", "rust")  # index = language_id (hrm_jax.tokenizer)
TASKS = ("codegen", "self_repair", "test_output_prediction", "code_execution", "edit", "tool_use")
FORMAT = "hrm-jax-tflite-2"


class Model:
  """model.tflite behind two calls: `prefill(prompt, language_id, task_id)` and `decode(token, position, depth)`.

  One interpreter holds the caches; its signature runners share them."""

  def __init__(self, model_dir: str, num_threads: int | None = None):
    path = os.path.join(model_dir, "manifest.json")
    with open(path) as f:
      self.manifest = json.load(f)
    if self.manifest.get("format") != FORMAT:
      raise ValueError(
        f"{path}: format {self.manifest.get('format')!r}, this runner reads {FORMAT!r} "
        "(re-export with `hrm-jax export --format tflite`)"
      )
    if "model" not in self.manifest["files"]:
      raise ValueError(f"{path} has no generation model (a bidirectional model has only native.tflite)")
    spec = self.manifest["files"]["model"]
    self.interpreter = litert.Interpreter(model_path=os.path.join(model_dir, spec["file"]), num_threads=num_threads)
    self.buckets = sorted(int(b) for b in spec["buckets"])
    self._prefill = {b: self.interpreter.get_signature_runner(f"prefill_{b}") for b in self.buckets}
    self._decode = self.interpreter.get_signature_runner("decode")
    self.seq_len = int(self.manifest["model"]["seq_len"])

  def prefill(self, prompt: Sequence[int], language_id: int = 0, task_id: int = 0) -> tuple[np.ndarray, int]:
    """(logits fp32 [vocab] of the first new token, ACT depth)."""
    fits = [b for b in self.buckets if b >= len(prompt)]
    if not prompt or not fits:
      raise ValueError(f"prompt of {len(prompt)} tokens: expected 1..{self.buckets[-1]} tokens")
    inputs = np.zeros((1, fits[0]), np.int32)
    inputs[0, : len(prompt)] = prompt
    one = lambda v: np.asarray([v], np.int32)
    out = self._prefill[fits[0]](
      inputs=inputs, prompt_length=one(len(prompt)), language_id=one(language_id), task_id=one(task_id)
    )
    return out["logits"][0], int(out["depth"][0])

  def decode(self, token: int, position: int, depth: int) -> np.ndarray:
    """Logits fp32 [vocab] of the token after `token` (at sequence index `position`)."""
    one = lambda v: np.asarray([v], np.int32)
    return self._decode(token=one(token), position=one(position), depth=one(depth))["logits"][0]


def generate_ids(
  model: Model,
  prompt: Sequence[int],
  max_new_tokens: int,
  stop_ids: Sequence[int] = (1,),
  language_id: int = 0,
  task_id: int = 0,
  temperature: float = 0.0,
  seed: int = 0,
) -> Iterator[int]:
  """Yields new token ids (greedy when temperature == 0), the stop token excluded."""
  if len(prompt) + max_new_tokens > model.seq_len:
    raise ValueError(f"prompt of {len(prompt)} tokens + {max_new_tokens} new exceeds seq_len={model.seq_len}")
  logits, depth = model.prefill(prompt, language_id, task_id)
  rng = np.random.default_rng(seed)
  position = len(prompt)
  for _ in range(max_new_tokens):
    if temperature > 0:
      z = logits / temperature
      p = np.exp(z - z.max())
      token = int(rng.choice(p.shape[0], p=p / p.sum()))
    else:
      token = int(np.argmax(logits))
    if token in stop_ids:
      return
    yield token
    if position >= model.seq_len:
      return
    logits = model.decode(token, position, depth)
    position += 1


def main(argv=None) -> int:
  import tokenizers

  parser = argparse.ArgumentParser(description="generate code with an exported .tflite model (no JAX)")
  parser.add_argument("--model-dir", required=True)
  parser.add_argument("--prompt", required=True)
  parser.add_argument("--language", default="python", choices=LANGUAGES)
  parser.add_argument("--task", default="codegen", choices=TASKS)
  parser.add_argument("--max-new-tokens", type=int, default=128)
  parser.add_argument("--temperature", type=float, default=0.0)
  parser.add_argument("--threads", type=int, default=None)
  args = parser.parse_args(argv)
  try:
    model = Model(args.model_dir, args.threads)
  except (OSError, ValueError) as e:
    print(f"litert_runner: {e}", file=sys.stderr)
    return 2
  tok = tokenizers.Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
  ids = [tok.token_to_id("<|problem|>")] + tok.encode(args.prompt).ids + [tok.token_to_id("<|code|>")]
  ids = ids[: model.buckets[-1]]
  budget = min(args.max_new_tokens, model.seq_len - len(ids))
  t0 = time.perf_counter()
  out = list(
    generate_ids(
      model,
      ids,
      budget,
      (tok.token_to_id("<|eos|>"),),
      LANGUAGES.index(args.language),
      TASKS.index(args.task),
      args.temperature,
    )
  )
  print(tok.decode(out, skip_special_tokens=False))
  print(f"[{len(out)} tokens in {time.perf_counter() - t0:.2f}s]", file=sys.stderr)
  return 0


if __name__ == "__main__":
  sys.exit(main())
