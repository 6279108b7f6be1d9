"""`hrm-jax generate`: code from a trained causal model (KV-cached decoding, ACT depth from the Q head)."""

from __future__ import annotations

import argparse
import sys
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--workdir", required=True, help="training workdir (config.json + checkpoints/)")
  source = parser.add_mutually_exclusive_group(required=True)
  source.add_argument("--prompt", help="the problem statement")
  source.add_argument("--prompt-file", help="read the problem statement from this file ('-' = stdin)")
  parser.add_argument("--language", default="python", help="cpp, go, java, javascript, python or rust")
  parser.add_argument("--task", default="codegen", help="task type (see hrm_jax.tokenizer.TASKS)")
  parser.add_argument("--max-new-tokens", type=int, default=128)
  parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
  parser.add_argument("--top-k", type=int, default=0)
  parser.add_argument("--top-p", type=float, default=1.0)
  parser.add_argument("--segments", type=int, default=None, help="ACT segment budget (default: the model's)")
  parser.add_argument("--stream", action="store_true", help="print tokens as they are generated")
  parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
  from hrm_jax.inference import sampler
  from hrm_jax.tokenizer import LANGUAGES, TASKS, load_tokenizer
  from hrm_jax.train import checkpoint

  if args.language not in LANGUAGES:
    print(f"hrm-jax generate: --language {args.language!r}: choose from {', '.join(LANGUAGES)}", file=sys.stderr)
    return 2
  if args.task not in TASKS:
    print(f"hrm-jax generate: --task {args.task!r}: choose from {', '.join(TASKS)}", file=sys.stderr)
    return 2
  if args.prompt is not None:
    text = args.prompt
  else:
    text = sys.stdin.read() if args.prompt_file == "-" else open(args.prompt_file).read()
  try:
    model, params, _ = checkpoint.load_for_inference(args.workdir)
  except FileNotFoundError as e:
    print(f"hrm-jax generate: {e}", file=sys.stderr)
    return 2
  tok = load_tokenizer()
  prompt = [tok.token_id("<|problem|>")] + tok.encode(text) + [tok.token_id("<|code|>")]
  new_tokens = min(args.max_new_tokens, model.cfg.seq_len - len(prompt))
  if new_tokens <= 0:
    print(
      f"hrm-jax generate: the prompt ({len(prompt)} tokens) fills the model's seq_len={model.cfg.seq_len}",
      file=sys.stderr,
    )
    return 2
  sampling = sampler.SamplingConfig(
    max_new_tokens=new_tokens,
    temperature=args.temperature,
    top_k=args.top_k,
    top_p=args.top_p,
    stop_ids=(tok.eos_id,),
    max_segments=args.segments,
  )
  lang, task = LANGUAGES.index(args.language), TASKS.index(args.task)
  t0 = time.perf_counter()
  if args.stream:
    ids = []
    shown = ""
    for token in sampler.stream(model, params, prompt, sampling, lang, task, args.seed):
      ids.append(token)
      text_now = tok.decode(ids)
      sys.stdout.write(text_now[len(shown) :])
      sys.stdout.flush()
      shown = text_now
    sys.stdout.write("\n")
  else:
    gen = sampler.Generator(model, params, sampling)
    ids = gen.generate([prompt], [lang], [task], seed=args.seed)[0]
    print(tok.decode(ids))
  elapsed = time.perf_counter() - t0
  print(f"[{len(ids)} tokens in {elapsed:.2f}s, compile included]", file=sys.stderr)
  return 0
