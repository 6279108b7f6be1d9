"""Serving benchmark: requests/s, p50/p95 latency and tokens/s of `hrm-jax serve` at 1, 8 and 32 concurrent
clients, against one-at-a-time serving (the same engine with one row).

    python -m hrm_jax.bench.serve [--workdir W] [--requests 64] [--max-tokens 32] [--clients 1,8,32]

Without --workdir it serves an untrained tiny causal model (`tiny_workdir`: the real 8k vocabulary, width 64,
one H and one L layer), so the figures measure the server and the batching, not a model's quality. The server
is `hrm-jax serve` in its own process (one row for one-at-a-time serving, --max-batch rows for batched serving);
the clients are real HTTP clients (httpx, one connection each) on loopback, each sending its requests one after
another. Every request asks for --max-tokens tokens (the end-of-sequence token may end one earlier: the table
counts the tokens actually generated).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from hrm_jax.serve import ServerThread  # noqa: F401  (re-exported for tests and scripts)


def tiny_workdir(workdir: str, seed: int = 0, **model_overrides) -> str:
  """Writes an untrained causal code model (config.json + an Orbax checkpoint of its initial parameters) that
  `checkpoint.load_for_inference` reads like a trained one. Overrides go to `configs/common.code_model` fields."""
  import jax
  import ml_collections

  from hrm_jax import config_fields
  from hrm_jax.models import hrm
  from hrm_jax.train import checkpoint as checkpoint_lib
  from hrm_jax.train import trainer

  # The code mode's defaults (HRMConfig, the one declaration), shrunk to a fast untrained model.
  small = dict(
    attention="causal",
    task_conditioning=True,
    q_position="last_prompt",
    seq_len=256,
    hidden_size=64,
    num_heads=4,
    expansion=2.0,
    H_layers=1,
    L_layers=1,
    H_cycles=1,
    L_cycles=2,
    halt_max_steps=2,
    halt_exploration_prob=0.0,
    grad_steps=1,
  )
  model = config_fields.config_dict(hrm.HRMConfig, **{**small, **model_overrides})
  config = ml_collections.ConfigDict({"model": model})
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, trainer.CONFIG_FILE), "w") as f:
    f.write(config.to_json_best_effort(indent=2))
  _, variables = hrm.init_params(trainer.model_config(config), jax.random.key(seed))
  ckpt = checkpoint_lib.Checkpointer(workdir, async_save=False)
  try:
    ckpt.save(0, {"params": variables["params"]}, force=True)
  finally:
    ckpt.close()
  return workdir


async def _load(url: str, model: str, clients: int, requests: int, max_tokens: int) -> dict:
  import httpx

  latencies, tokens = [], 0
  queue = list(range(requests))

  async def client():
    nonlocal tokens
    async with httpx.AsyncClient(base_url=url, timeout=600) as http:
      while queue:
        i = queue.pop()
        t0 = time.perf_counter()
        r = await http.post(
          "/v1/completions",
          json={
            "model": model,
            "prompt": f"<|problem|>Write a function number {i} that adds two numbers.<|code|>",
            "max_tokens": max_tokens,
            "temperature": 0.8,
            "seed": i,
          },
        )
        r.raise_for_status()
        latencies.append(time.perf_counter() - t0)
        tokens += r.json()["usage"]["completion_tokens"]

  t0 = time.perf_counter()
  await asyncio.gather(*(client() for _ in range(clients)))
  wall = time.perf_counter() - t0
  latencies.sort()
  return dict(
    clients=clients,
    requests=requests,
    wall=wall,
    rps=requests / wall,
    tokens=tokens,
    tps=tokens / wall,
    p50=statistics.median(latencies),
    p95=latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
  )


class ServerProcess:
  """`hrm-jax serve` in its own process (so the clients here do not share its interpreter lock)."""

  def __init__(self, workdir: str, max_batch: int, model_name: str = "bench"):
    with socket.socket() as sock:
      sock.bind(("127.0.0.1", 0))
      self.port = sock.getsockname()[1]
    self.url = f"http://127.0.0.1:{self.port}"
    self.cmd = [
      sys.executable,
      "-m",
      "hrm_jax.cli",
      "serve",
      "--workdir",
      workdir,
      "--port",
      str(self.port),
      "--max-batch",
      str(max_batch),
      "--model-name",
      model_name,
    ]

  def __enter__(self):
    import httpx

    self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 900
    while time.time() < deadline:
      if self.proc.poll() is not None:
        raise RuntimeError(f"the server exited: {self.proc.stderr.read()[-2000:]}")
      try:
        if httpx.get(self.url + "/health", timeout=2).status_code == 200:
          return self
      except httpx.TransportError:
        pass
      time.sleep(0.5)
    raise RuntimeError("the server did not start in 900 s")

  def stats(self) -> dict:
    import httpx

    return httpx.get(self.url + "/health", timeout=10).json()

  def __exit__(self, *exc):
    self.proc.terminate()
    try:
      self.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
      self.proc.kill()
      self.proc.wait()


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default=None, help="a trained workdir (default: an untrained tiny model)")
  parser.add_argument("--requests", type=int, default=64)
  parser.add_argument("--max-tokens", type=int, default=32)
  parser.add_argument("--clients", default="1,8,32")
  parser.add_argument("--max-batch", type=int, default=32, help="rows of the batched engine")
  args = parser.parse_args(argv)

  workdir = args.workdir or tiny_workdir(tempfile.mkdtemp(prefix="hrm-serve-bench-"))
  levels = [int(c) for c in args.clients.split(",")]
  print(
    f"model: {workdir}; {args.requests} requests of {args.max_tokens} new tokens each "
    f"(temperature 0.8); cpus: {os.cpu_count()}; server in its own process",
    flush=True,
  )
  rows = []
  for label, batch in (("one at a time (1 row)", 1), (f"batched ({args.max_batch} rows)", args.max_batch)):
    t0 = time.perf_counter()
    with ServerProcess(workdir, batch) as srv:
      print(f"[{label}] loaded and compiled in {time.perf_counter() - t0:.1f}s", flush=True)
      asyncio.run(_load(srv.url, "bench", 1, 2, args.max_tokens))  # warm the HTTP path
      for clients in levels:
        before = srv.stats()
        r = asyncio.run(_load(srv.url, "bench", clients, args.requests, args.max_tokens))
        after = srv.stats()
        steps = after["steps"] - before["steps"]
        r.update(label=label, mean_rows=(after["rows_decoded"] - before["rows_decoded"]) / max(steps, 1))
        rows.append(r)
        print(
          f"  {clients:>3} clients: {r['rps']:.2f} req/s, {r['tps']:.1f} tok/s, p50 {r['p50']:.2f}s, "
          f"p95 {r['p95']:.2f}s, {r['mean_rows']:.1f} rows per step",
          flush=True,
        )
  print()
  print("| serving | clients | requests/s | tokens/s | p50 latency | p95 latency | rows per step |")
  print("|---|---:|---:|---:|---:|---:|---:|")
  for r in rows:
    print(
      f"| {r['label']} | {r['clients']} | {r['rps']:.2f} | {r['tps']:.1f} | {r['p50']:.2f}s | {r['p95']:.2f}s "
      f"| {r['mean_rows']:.1f} |"
    )
  for clients in levels:
    one = [r for r in rows if r["clients"] == clients and r["label"].startswith("one")]
    many = [r for r in rows if r["clients"] == clients and not r["label"].startswith("one")]
    if one and many:
      print(f"{clients} clients: batched / one-at-a-time tokens/s = {many[0]['tps'] / one[0]['tps']:.2f}x")
  return 0


if __name__ == "__main__":
  raise SystemExit(main())
