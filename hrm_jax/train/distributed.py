"""Multi-process (multi-host) start-up: `jax.distributed.initialize` from flags or the environment.

  * TPU pod slices and SLURM/Open MPI clusters: `--distributed` alone (JAX detects the cluster).
  * Anywhere else (GPU hosts, two processes on one CPU machine): a coordinator `host:port`, the number of
    processes and this process's id, from the flags `--coordinator-address/--num-processes/--process-id` or the
    environment `HRM_COORDINATOR_ADDRESS`, `HRM_NUM_PROCESSES`, `HRM_PROCESS_ID`.

A process that loses its peers does not hang: the coordination service's heartbeat timeout
(`--distributed-timeout`, env `HRM_DISTRIBUTED_TIMEOUT`, default 60 s) ends the survivors with an error.
"""

from __future__ import annotations

import argparse
import dataclasses
import os

ENV_PREFIX = "HRM_"


@dataclasses.dataclass(frozen=True)
class DistributedOptions:
  auto: bool = False  # cluster auto-detection (TPU pods, SLURM, Open MPI)
  coordinator_address: str | None = None
  num_processes: int | None = None
  process_id: int | None = None
  timeout_s: int = 60

  @property
  def enabled(self) -> bool:
    return self.auto or self.coordinator_address is not None


def add_arguments(parser: argparse.ArgumentParser) -> None:
  group = parser.add_argument_group("multi-host")
  group.add_argument(
    "--distributed",
    action="store_true",
    help="initialise jax.distributed with cluster auto-detection (TPU pod slices, SLURM)",
  )
  group.add_argument("--coordinator-address", default=None, help="host:port of process 0 (env HRM_COORDINATOR_ADDRESS)")
  group.add_argument("--num-processes", type=int, default=None, help="env HRM_NUM_PROCESSES")
  group.add_argument("--process-id", type=int, default=None, help="env HRM_PROCESS_ID")
  group.add_argument(
    "--distributed-timeout",
    type=int,
    default=None,
    help="seconds before lost peers end the job (env HRM_DISTRIBUTED_TIMEOUT, default 60)",
  )


def options_from(args: argparse.Namespace | None = None, environ=None) -> DistributedOptions:
  """Flags win over the environment."""
  env = os.environ if environ is None else environ
  get = lambda name: getattr(args, name, None) if args is not None else None
  as_int = lambda v: int(v) if v not in (None, "") else None
  address = get("coordinator_address") or env.get(ENV_PREFIX + "COORDINATOR_ADDRESS") or None
  num = get("num_processes") if get("num_processes") is not None else as_int(env.get(ENV_PREFIX + "NUM_PROCESSES"))
  pid = get("process_id") if get("process_id") is not None else as_int(env.get(ENV_PREFIX + "PROCESS_ID"))
  timeout = get("distributed_timeout") or as_int(env.get(ENV_PREFIX + "DISTRIBUTED_TIMEOUT")) or 60
  opts = DistributedOptions(
    auto=bool(get("distributed")), coordinator_address=address, num_processes=num, process_id=pid, timeout_s=timeout
  )
  if address is not None and (num is None or pid is None):
    raise ValueError(
      "multi-host: --coordinator-address needs --num-processes and --process-id "
      "(or HRM_NUM_PROCESSES and HRM_PROCESS_ID)"
    )
  return opts


def initialize(opts: DistributedOptions) -> bool:
  """Calls jax.distributed.initialize when asked to; returns whether it did."""
  import jax  # here, not at module level: `hrm-jax train --help` must not load JAX

  if not opts.enabled:
    return False
  if jax.config.jax_platforms and "cpu" in jax.config.jax_platforms:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # cross-process collectives on CPU
  kwargs = dict(
    initialization_timeout=max(opts.timeout_s, 30),
    heartbeat_timeout_seconds=opts.timeout_s,
    shutdown_timeout_seconds=opts.timeout_s,
  )
  if opts.auto and opts.coordinator_address is None:
    jax.distributed.initialize(**kwargs)
  else:
    jax.distributed.initialize(opts.coordinator_address, opts.num_processes, opts.process_id, **kwargs)
  return True


def is_main_process() -> bool:
  import jax

  return jax.process_index() == 0


def log(*args, **kwargs) -> None:
  """print() on process 0 only (logs are written once)."""
  if is_main_process():
    print(*args, **{"flush": True, **kwargs})
