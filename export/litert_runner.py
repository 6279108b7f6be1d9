"""Code generation from an exported .tflite decode step on a CPU, as a mobile app runs it. No JAX here.

    python -m hrm_jax.export.litert_runner --model-dir DIR --prompt "reverse a string" --language python

Imports only `ai_edge_litert`, NumPy and `tokenizers` (plus the standard library). DIR is what
`hrm-jax export --format tflite` writes: decode.tflite, manifest.json, tokenizer.json. The loop (the same one an
Android/iOS app runs; see the README's export section):

  1. caches = zeros (shapes in the manifest); segments = manifest["segments"]
  2. prefix and prompt: for each (token, position) in [(language_id, 0), (task_id, 1)] + prompt tokens at
     2, 3, ...: run the step with depth = segments, keep the returned caches
  3. at the last prompt token: depth = 1 + first segment with q_halt > q_continue (else segments);
     next-token logits = logits[0, depth - 1]
  4. repeat: token = argmax (or sample) of the logits; stop at <|eos|>; run the step on (token, next position,
     depth); logits = logits[0, depth - 1]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Iterator, Sequence

import numpy as np
from ai_edge_litert import interpreter as litert

LANGUAGES = ("cpp", "go", "java", "javascript", "python", "rust")  # index = language_id (hrm_jax.tokenizer)
TASKS = ("codegen", "self_repair", "test_output_prediction", "code_execution", "edit", "tool_use")


class DecodeStep:
  """decode.tflite behind a call: step(token, position, depth, caches) -> (logits, q_halt, q_continue, caches)."""

  def __init__(self, model_dir: str, num_threads: int | None = None):
    with open(os.path.join(model_dir, "manifest.json")) as f:
      self.manifest = json.load(f)
    if "decode" not in self.manifest["files"]:
      raise ValueError(f"{model_dir}/manifest.json has no decode step (a bidirectional model has only native)")
    spec = self.manifest["files"]["decode"]
    self.interpreter = litert.Interpreter(model_path=os.path.join(model_dir, spec["file"]), num_threads=num_threads)
    self.interpreter.allocate_tensors()
    # Inputs carry the names given at export (token, position, depth, k_L, ...); a model made by
    # from_concrete_functions has no signatures, so inputs are matched by these names and outputs by shape.
    by_name = {d["name"].split(":")[0]: d for d in self.interpreter.get_input_details()}
    try:
      self.inputs = [by_name[s["name"]] for s in spec["inputs"]]
    except KeyError as e:
      raise ValueError(f"{model_dir}/decode.tflite has no input {e}; it has {sorted(by_name)}") from None
    self.outputs = self.interpreter.get_output_details()
    self.input_spec = spec["inputs"]
    self.segments = int(self.manifest["segments"])
    model = self.manifest["model"]
    self.prefix_len = (2 if model["task_conditioning"] else 0)
    self.seq_len = int(model["seq_len"])

  def zero_caches(self) -> list[np.ndarray]:
    return [np.zeros(s["shape"], s["dtype"]) for s in self.input_spec[3:]]

  def __call__(self, token: int, position: int, depth: int, caches: Sequence[np.ndarray]):
    values = [np.asarray([token], np.int32), np.asarray([position], np.int32), np.asarray([depth], np.int32)]
    values += list(caches)
    for detail, value in zip(self.inputs, values):
      self.interpreter.set_tensor(detail["index"], value)
    self.interpreter.invoke()
    out = [self.interpreter.get_tensor(d["index"]) for d in self.outputs]
    return out[0], out[1], out[2], out[3:]


def _output_order(step: DecodeStep) -> None:
  """Maps the converter's output order onto (logits, q_halt, q_continue, caches) by shape."""
  segments, vocab = step.segments, int(step.manifest["model"]["vocab_size"])
  cache_shapes = [tuple(s["shape"]) for s in step.input_spec[3:]]
  by_role = {"logits": None, "q": [], "caches": []}
  for d in step.outputs:
    shape = tuple(int(x) for x in d["shape"])
    if shape == (1, segments, vocab):
      by_role["logits"] = d
    elif shape == (1, segments):
      by_role["q"].append(d)
    else:
      by_role["caches"].append(d)
  if by_role["logits"] is None or len(by_role["q"]) != 2 or len(by_role["caches"]) != len(cache_shapes):
    raise ValueError("decode.tflite outputs do not match its manifest")
  # q_halt / q_continue and the four caches keep their relative order in the flatbuffer's output list.
  ordered_q = sorted(by_role["q"], key=lambda d: _output_index(d["name"]))
  ordered_c = sorted(by_role["caches"], key=lambda d: _output_index(d["name"]))
  step.outputs = [by_role["logits"]] + ordered_q + ordered_c


def _output_index(name: str) -> int:
  """jax2tf names outputs `Identity`, `Identity_1`, ... in the function's output order."""
  tail = name.split(":")[0].rsplit("_", 1)
  return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else 0


def choose_depth(q_halt: np.ndarray, q_continue: np.ndarray) -> int:
  """ACT depth chosen at the last prompt token: first segment whose q_halt > q_continue (1-based), else all."""
  halts = np.nonzero(q_halt > q_continue)[0]
  return int(halts[0]) + 1 if halts.size else int(q_halt.shape[0])


def generate_ids(step: DecodeStep, prompt: Sequence[int], max_new_tokens: int, stop_ids: Sequence[int] = (1,),
                 language_id: int = 0, task_id: int = 0, temperature: float = 0.0,
                 seed: int = 0) -> Iterator[int]:
  """Yields new token ids (greedy when temperature == 0), the stop token excluded."""
  if not prompt:
    raise ValueError("empty prompt")
  if step.prefix_len + len(prompt) + max_new_tokens > step.prefix_len + step.seq_len:
    raise ValueError(f"prompt of {len(prompt)} tokens + {max_new_tokens} new exceeds seq_len={step.seq_len}")
  caches = step.zero_caches()
  feed = ([language_id, task_id] if step.prefix_len == 2 else []) + list(prompt)
  for position, token in enumerate(feed):
    logits, q_halt, q_continue, caches = step(token, position, step.segments, caches)
  depth = choose_depth(q_halt[0], q_continue[0])
  next_logits = logits[0, depth - 1]
  rng = np.random.default_rng(seed)
  position = len(feed)
  for _ in range(max_new_tokens):
    if temperature > 0:
      z = next_logits / temperature
      p = np.exp(z - z.max())
      token = int(rng.choice(p.shape[0], p=p / p.sum()))
    else:
      token = int(np.argmax(next_logits))
    if token in stop_ids:
      return
    yield token
    if position >= step.prefix_len + step.seq_len:
      return
    logits, _, _, caches = step(token, position, depth, caches)
    next_logits = logits[0, depth - 1]
    position += 1


def load_step(model_dir: str, num_threads: int | None = None) -> DecodeStep:
  step = DecodeStep(model_dir, num_threads)
  _output_order(step)
  return step


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
  step = load_step(args.model_dir, args.threads)
  tok = tokenizers.Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
  ids = [tok.token_to_id("<|problem|>")] + tok.encode(args.prompt).ids + [tok.token_to_id("<|code|>")]
  budget = min(args.max_new_tokens, step.seq_len - len(ids))
  t0 = time.perf_counter()
  out = list(generate_ids(step, ids, budget, (tok.token_to_id("<|eos|>"),), LANGUAGES.index(args.language),
                          TASKS.index(args.task), args.temperature))
  print(tok.decode(out, skip_special_tokens=False))
  print(f"[{len(out)} tokens in {time.perf_counter() - t0:.2f}s]", file=sys.stderr)
  return 0


if __name__ == "__main__":
  sys.exit(main())
