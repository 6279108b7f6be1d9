"""SWE-ReX backend: runs `pool.RunRequest`s in a SWE-ReX deployment (`swe-rex==1.4.0`, the `sandbox` extra).

SWE-ReX's API (benchmarks.md C3): a deployment (`DockerDeployment`, `ModalDeployment`, `LocalDeployment`, ...)
is started with `await start()`; its `runtime.execute(Command(...))` runs one subprocess and returns stdout,
stderr and the exit code; `write_file`/`upload` place files. Isolation is the deployment's:
  * Docker / Modal: the program runs in a container (no access to this host's files; network as the
    container is configured);
  * Local: **no isolation at all** (commands run directly on this host as this user). It exists for tests
    and for hosts where the commands are trusted; `SweRexBackend` warns when it is used. It is SWE-ReX's own
    `swerex-remote` server started as a child process on the loopback interface (random port, random token,
    exits with its parent), reached through `RemoteDeployment`, rather than SWE-ReX's in-process
    `LocalDeployment`: bash sessions are spawned by pexpect with a Python-level fork, which can deadlock in a
    process whose other threads (JAX's, the model server's) hold locks at the fork; seen as a 30 s start-up
    timeout of a bash session under load. `subprocess` forks and execs in C, which is safe.
Limits: wall time via SWE-ReX's command timeout; CPU time, address space, processes, open files and file
size via `ulimit` in a `sh` wrapper inside the deployment; output size is checked after the run (SWE-ReX
returns the whole output). Requests that need `runner.run_prepared` (Polyglot test suites with host
toolchains) cannot use this backend; LiveCodeBench grading (Python only) can.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shlex
import socket
import subprocess
import sys
import threading
import time
import uuid

from hrm_jax.sandbox import runner

_LOG = logging.getLogger(__name__)
DEPLOYMENTS = ("docker", "modal", "local", "remote")  # remote: a `swerex-remote` server (host, port, auth_token)


def _ulimit_wrapper(limits: runner.Limits) -> list[str]:
  settings = []
  cpu = limits.rlimits()["cpu_s"]
  if cpu:
    settings.append(f"ulimit -t {int(cpu + 0.999)}")
  if limits.memory_bytes:
    settings.append(f"ulimit -v {limits.memory_bytes // 1024}")
  if limits.processes:
    settings.append(f"ulimit -u {limits.processes}")
  if limits.open_files:
    settings.append(f"ulimit -n {limits.open_files}")
  if limits.file_size_bytes:
    settings.append(f"ulimit -f {limits.file_size_bytes // 512}")
  return ["sh", "-c", "; ".join(settings + ['exec "$@"']), "sh"]


# Runs SWE-ReX's server (its `swerex-remote` entry point) and exits when the parent that started it is gone,
# so a SIGKILLed agent leaves no command server behind. argv[1] is the parent's pid.
_SERVER_MAIN = """
import os, sys, threading, time
parent = int(sys.argv.pop(1))
def watch():
  while os.getppid() == parent:
    time.sleep(0.5)
  os._exit(0)
threading.Thread(target=watch, daemon=True).start()
sys.argv[0] = "swerex-remote"
from swerex.server import main
main()
"""


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class _LocalServer:
  """A `swerex-remote` child process on 127.0.0.1 (see the module docstring for why not `LocalDeployment`)."""

  def __init__(self, start_timeout_s: float = 60.0):
    self.token = secrets.token_hex(16)
    for _ in range(3):  # the port can be taken between choosing and binding it: try another
      self.port = _free_port()
      self.process = subprocess.Popen(
        [sys.executable, "-c", _SERVER_MAIN, str(os.getpid()), "--host", "127.0.0.1", "--port", str(self.port)]
        + ["--auth-token", self.token],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
      )
      deadline = time.monotonic() + start_timeout_s
      while self.process.poll() is None and time.monotonic() < deadline:
        try:
          socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
          return
        except OSError:
          time.sleep(0.1)
      if self.process.poll() is None:
        self.close()
        raise RuntimeError(f"the local SWE-ReX server did not listen on port {self.port} in {start_timeout_s:g}s")
      error = self.process.stderr.read().decode(errors="replace").strip().splitlines()
      self.process.stderr.close()
    raise RuntimeError(f"the local SWE-ReX server exited: {error[-1] if error else 'no message'}")

  def close(self) -> None:
    if self.process.poll() is None:
      self.process.terminate()
      try:
        self.process.wait(timeout=10)
      except subprocess.TimeoutExpired:
        self.process.kill()
        self.process.wait()
    if self.process.stderr:
      self.process.stderr.close()


class SweRexBackend:
  """Runs requests in one SWE-ReX deployment, driven from a private event loop (thread-safe)."""

  def __init__(self, deployment: str = "docker", python: str = "python3", **config):
    try:
      from swerex.deployment.config import (  # pylint: disable=import-outside-toplevel
        DockerDeploymentConfig,
        LocalDeploymentConfig,
        ModalDeploymentConfig,
        RemoteDeploymentConfig,
      )
    except ImportError as error:
      raise RuntimeError("the SWE-ReX backend needs `pip install 'hrm-jax[sandbox]'` (swe-rex==1.4.0)") from error
    configs = {"docker": DockerDeploymentConfig, "modal": ModalDeploymentConfig, "local": LocalDeploymentConfig}
    configs["remote"] = RemoteDeploymentConfig
    if deployment not in configs:
      raise ValueError(f"unknown SWE-ReX deployment {deployment!r}; choose from {', '.join(DEPLOYMENTS)}")
    if deployment == "local":
      _LOG.warning("SWE-ReX LocalDeployment runs programs directly on this host: it is NOT a sandbox")
      python = sys.executable
    self.name = f"swerex-{deployment}"
    self.python = python
    self._server = None
    if deployment == "local":
      if config:
        raise ValueError(f"the local SWE-ReX deployment takes no options (got {', '.join(sorted(config))})")
      self._server = _LocalServer()
      deployment, config = "remote", {"port": self._server.port, "auth_token": self._server.token, "timeout": 10.0}
    self._deployment = configs[deployment](**config).get_deployment()
    self._loop = asyncio.new_event_loop()
    self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
    self._thread.start()
    try:
      self._call(self._deployment.start())
    except BaseException:
      self.close()
      raise

  def _call(self, coroutine):
    return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

  def close(self) -> None:
    try:
      self._call(self._deployment.stop())
    finally:
      self._loop.call_soon_threadsafe(self._loop.stop)
      self._thread.join(timeout=10)
      if self._server is not None:
        self._server.close()

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()

  def run(self, request) -> runner.RunResult:
    """Runs a `pool.RunRequest` (files/copy_tree are placed in a fresh remote directory first)."""
    from swerex.exceptions import CommandTimeoutError  # pylint: disable=import-outside-toplevel
    from swerex.runtime.abstract import Command, UploadRequest, WriteFileRequest  # pylint: disable=import-outside-toplevel

    runtime = self._deployment.runtime
    work = f"/tmp/hrm_jax_rex_{uuid.uuid4().hex}"
    self._call(runtime.execute(Command(command=["mkdir", "-p", work])))
    try:
      if request.copy_tree is not None:
        self._call(runtime.upload(UploadRequest(source_path=str(request.copy_tree), target_path=work)))
      for rel, content in (request.files or {}).items():
        text = content.decode() if isinstance(content, bytes) else content
        self._call(runtime.write_file(WriteFileRequest(content=text, path=f"{work}/{rel}")))
      argv = [self.python if a == sys.executable else a for a in request.argv]
      stdin_redirect = []
      if request.stdin is not None:
        stdin_text = request.stdin.decode() if isinstance(request.stdin, bytes) else request.stdin
        self._call(runtime.write_file(WriteFileRequest(content=stdin_text, path=f"{work}/.stdin")))
        stdin_redirect = ["sh", "-c", f'exec "$@" < {shlex.quote(work + "/.stdin")}', "sh"]
      command = Command(
        command=_ulimit_wrapper(request.limits) + stdin_redirect + argv,
        timeout=request.limits.wall_s,
        env={"PATH": runner.DEFAULT_PATH, **(request.env or {})},
        cwd=f"{work}/{request.cwd}" if request.cwd else work,
      )
      try:
        response = self._call(runtime.execute(command))
      except CommandTimeoutError as error:
        return runner.RunResult(
          runner.Outcome.TIMEOUT,
          None,
          None,
          "",
          "",
          request.limits.wall_s,
          0.0,
          0,
          self.name,
          f"wall time limit {request.limits.wall_s:g}s ({error})",
        )
    finally:
      self._call(runtime.execute(Command(command=["rm", "-rf", work])))
    return self._classify(request.limits, response.stdout, response.stderr, response.exit_code)

  def _classify(self, limits: runner.Limits, stdout: str, stderr: str, exit_code: int) -> runner.RunResult:
    if len(stdout) + len(stderr) > limits.output_bytes:
      outcome, detail = runner.Outcome.OUTPUT_LIMIT, f"output over {limits.output_bytes} bytes"
    elif exit_code == 0:
      outcome, detail = runner.Outcome.PASSED, ""
    elif exit_code in (128 + 24, -24):  # SIGXCPU: CPU time limit.
      outcome, detail = runner.Outcome.TIMEOUT, "CPU time limit"
    elif runner.is_memory_error(stderr, stdout):
      outcome, detail = runner.Outcome.MEMORY_LIMIT, f"memory limit {limits.memory_bytes} bytes"
    else:
      outcome, detail = runner.Outcome.RUNTIME_ERROR, f"exit code {exit_code}"
    signal_number = -exit_code if exit_code < 0 else (exit_code - 128 if exit_code > 128 else None)
    return runner.RunResult(
      outcome,
      exit_code if exit_code >= 0 else None,
      signal_number,
      stdout[: limits.output_bytes],
      stderr[: limits.output_bytes],
      0.0,
      0.0,
      0,
      self.name,
      detail,
    )
