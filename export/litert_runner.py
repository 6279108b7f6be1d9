"""Code generation from an exported model.tflite on a CPU, as a mobile app runs it. No JAX here.

    python -m hrm_jax.export.litert_runner --model-dir DIR --prompt "reverse a string" --language python

Imports only `ai_edge_litert`, NumPy and `tokenizers` (plus the standard library). DIR is what
`hrm-jax export --format tflite` writes: model.tflite, manifest.json, tokenizer.json. The KV caches are inputs of
the `decode` signature, owned by the caller (export/tflite.py), so the loop an Android/iOS app runs (the README's
export section) is:

  0. once: allocate tensors; the caches are decode's input buffers (every name in the manifest's "caches"):
     zero them (a slot not yet written is masked out, but must hold a finite number)
  1. bucket = the smallest prefill bucket >= the prompt's length; pad the prompt with zeros to it
  2. logits, depth, entries = prefill_<bucket>(inputs, prompt_length, language_id, task_id)
     (the model runs ACT segments over the prompt until its Q head halts: depth is the number of segments);
     copy each cache's entries into the front of that cache (positions 0 .. prefix_len + bucket - 1)
  3. repeat: token = argmax (or a sample) of logits; stop at <|eos|>;
     logits, entries = decode(token, position = prompt_length + tokens so far, depth, caches);
     write each cache's new entry at sequence index prefix_len + position (k: last axis, v: second axis)
Only the new entries are written per token: the caches stay where they are (no copy of ~75 MB per token).
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
FORMAT = "hrm-jax-tflite-3"


class Model:
  """model.tflite behind two calls: `prefill(prompt, language_id, task_id)` and `decode(token, position, depth)`.

  The caches are the decode signature's input tensors, written in place through NumPy views of the
  interpreter's buffers (`Interpreter.tensor`): prefill's entries at the front, each decoded token's at its
  position."""

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
    self.interpreter.allocate_tensors()
    self.buckets = sorted(int(b) for b in spec["buckets"])
    self.seq_len = int(self.manifest["model"]["seq_len"])
    self.prefix_len = int(spec["prefix_len"])  # cache positions before the prompt's first token
    self.cache_names = list(spec["caches"])
    # decode is the primary subgraph: its inputs and outputs by name, reached with the interpreter's own API
    decode = self.interpreter.get_signature_runner("decode")
    details = decode.get_input_details()
    self._in = {name: d["index"] for name, d in details.items()}
    self._out = {name: d["index"] for name, d in decode.get_output_details().items()}
    primary = {d["index"] for d in self.interpreter.get_input_details()}
    if set(self._in.values()) != primary:
      raise ValueError(f"{path}: the decode signature is not the model's primary subgraph (re-export)")
    # Slots past the current position are masked out, but masked probabilities (0) times values must stay 0:
    # fresh buffers hold whatever the allocator left (NaN bits among it), so zero them once.
    for name in self.cache_names:
      self._view(name).fill(0)

  def _view(self, name: str) -> np.ndarray:
    """A writable view of decode's input buffer `name` (hold it only until the next invoke)."""
    return self.interpreter.tensor(self._in[name])()

  def prefill(self, prompt: Sequence[int], language_id: int = 0, task_id: int = 0) -> tuple[np.ndarray, int]:
    """(logits fp32 [vocab] of the first new token, ACT depth); the prompt's keys and values go into the caches."""
    fits = [b for b in self.buckets if b >= len(prompt)]
    if not prompt or not fits:
      raise ValueError(f"prompt of {len(prompt)} tokens: expected 1..{self.buckets[-1]} tokens")
    inputs = np.zeros((1, fits[0]), np.int32)
    inputs[0, : len(prompt)] = prompt
    one = lambda v: np.asarray([v], np.int32)
    # a signature runner holds the interpreter, which then refuses `invoke` (its check for live buffer views):
    # fetched per prompt, dropped after
    runner = self.interpreter.get_signature_runner(f"prefill_{fits[0]}")
    out = runner(inputs=inputs, prompt_length=one(len(prompt)), language_id=one(language_id), task_id=one(task_id))
    del runner
    for name in self.cache_names:
      self._write(name, out[name], 0)
    return out["logits"][0], int(out["depth"][0])

  def _write(self, name: str, entries: np.ndarray, start: int) -> None:
    cache = self._view(name)
    if name.startswith("k"):  # k [heads, head_dim, positions]
      cache[:, :, start : start + entries.shape[2]] = entries
    else:  # v [heads, positions, head_dim]
      cache[:, start : start + entries.shape[1]] = entries

  def decode(self, token: int, position: int, depth: int) -> np.ndarray:
    """Logits fp32 [vocab] of the token after `token` (at sequence index `position`); its keys and values are
    written into the caches at that position."""
    for name, value in (("token", token), ("position", position), ("depth", depth)):
      self._view(name)[...] = value
    self.interpreter.invoke()
    for name in self.cache_names:
      self._write(name, self.interpreter.get_tensor(self._out[name]), self.prefix_len + position)
    return self.interpreter.get_tensor(self._out["logits"])[0]


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
