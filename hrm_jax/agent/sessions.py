"""Sessions: where an agent's tool calls run. One session per episode keeps its files and shell state.

Two kinds behind one interface (`Session`):
  * `SandboxSession` (default, no Docker): the project's sandbox (hrm_jax/sandbox/runner.py). Each command
    runs in a fresh sandboxed copy of the session's workspace (limits, no network, private filesystem); the
    copy's files are brought back afterwards, and the shell's working directory and exported variables are
    saved in `.hrm_session/` and restored before the next command, so `cd` and `export` last between calls.
    Nothing from the workspace ever runs on the host: the host only copies files (regular files, directories
    and symbolic links as links; anything else is dropped) and reads/writes them through `resolve`, which
    refuses paths that leave the workspace or pass through a symbolic link.
  * `SweRexSession`: one SWE-ReX bash session (`swe-rex`, the `sandbox` extra) in a local, Docker or Modal
    deployment (the SWE-agent family's runtime). Isolation is the deployment's: `local` runs on this host and
    is NOT a sandbox (for trusted commands and tests only).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import pathlib
import shlex
import shutil
import stat
import tarfile
import tempfile
import uuid
from collections.abc import Mapping
from typing import Protocol

from hrm_jax.sandbox import languages, runner

STATE_DIR = ".hrm_session"


@dataclasses.dataclass(frozen=True)
class Observation:
  output: str  # stdout and stderr, in that order
  exit_code: int


class Session(Protocol):
  name: str

  def run(self, command: str, timeout_s: float = 60.0) -> Observation:
    """Runs a bash command in the session's working directory and shell state."""

  def read_file(self, path: str) -> str:
    """A workspace file's text (path relative to the workspace root)."""

  def write_file(self, path: str, content: str) -> None:
    """Writes a workspace file (parents created)."""

  def close(self) -> None:
    """Ends the session and removes its files."""


def _copy_tree(src: pathlib.Path, dst: pathlib.Path) -> None:
  """Copies regular files, directories and symbolic links (as links); sockets, FIFOs and devices are dropped."""

  def ignore(directory, names):
    dropped = []
    for name in names:
      mode = os.lstat(os.path.join(directory, name)).st_mode
      if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        dropped.append(name)
    return dropped

  shutil.copytree(src, dst, symlinks=True, ignore=ignore)


# The wrapper restores the saved directory and exports, runs the command in this shell (so `cd`/`export`
# persist) with its output in a file, and on any exit saves them again, prints the output (at most
# OUTPUT_LIMIT bytes), then MARKER and the work dir as a base64 tar.gz: the sandbox's writable places are a
# tmpfs inside its mount namespace, so the files come back through stdout. $1 is the command.
MARKER = "\n@@hrm-session-files@@\n"
OUTPUT_LIMIT = 1 << 20
_WRAPPER = r"""
root=$PWD
mkdir -p "$root/.hrm_session"
if [ -f "$root/.hrm_session/env" ]; then . "$root/.hrm_session/env"; fi
if [ -f "$root/.hrm_session/cwd" ]; then cd "$root/$(cat "$root/.hrm_session/cwd")" 2>/dev/null || cd "$root"; fi
out=$(mktemp)
save() {
  rc=$?
  exec >&3 2>&4
  here=$(pwd -P); base=$(cd "$root" && pwd -P)
  case "$here" in "$base"*) printf '%s' "${here#$base}" | sed 's|^/||' > "$root/.hrm_session/cwd";; esac
  export -p | grep -Ev '^declare -x (PWD|OLDPWD|HOME|TMPDIR|SHLVL|_|PATH|root|out|rc)=' > "$root/.hrm_session/env"
  head -c OUTPUT_LIMIT "$out"
  printf '\n@@hrm-session-files@@\n'
  tar -C "$root" -czf - . | base64 -w0
  exit $rc
}
trap save EXIT
exec 3>&1 4>&2 >"$out" 2>&1 </dev/null
eval "$1"
""".replace("OUTPUT_LIMIT", str(OUTPUT_LIMIT))


def _data_or_skip(member: tarfile.TarInfo, path: str):
  """tarfile's `data` filter, skipping (instead of failing on) what it refuses."""
  try:
    return tarfile.data_filter(member, path)
  except tarfile.FilterError:
    return None


class SandboxSession:
  """A workspace on the host whose commands run in the project's sandbox (see the module doc)."""

  name = "sandbox"

  def __init__(
    self,
    files: Mapping[str, str] | None = None,
    copy_tree: str | os.PathLike | None = None,
    limits: runner.Limits = runner.Limits(wall_s=60.0),
    toolchains: bool = True,
  ):
    self._root = pathlib.Path(tempfile.mkdtemp(prefix="hrm_jax_agent_"))
    self.workspace = self._root / "workspace"
    if copy_tree is not None:
      _copy_tree(pathlib.Path(copy_tree), self.workspace)
    else:
      self.workspace.mkdir()
    for path, content in (files or {}).items():
      self.write_file(path, content)
    self.limits = limits
    # Toolchain caches (Go modules, crates, npm, jars) readable so package managers and builds work offline.
    self.read_paths = languages.toolchain_read_paths() if toolchains else []

  def resolve(self, path: str) -> pathlib.Path:
    """The host path of a workspace path; ValueError when it leaves the workspace or crosses a link."""
    if not isinstance(path, str) or not path or "\0" in path:
      raise ValueError(f"bad path {path!r}")
    rel = pathlib.PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts:
      raise ValueError(f"path {path!r} must be relative to the workspace, without '..'")
    current = self.workspace
    for part in rel.parts:
      current = current / part
      if current.is_symlink():
        raise ValueError(f"path {path!r} passes through a symbolic link")
    return current

  def run(self, command: str, timeout_s: float = 60.0) -> Observation:
    def setup(work: pathlib.Path):
      return ["bash", "-c", _WRAPPER, "hrm-session", command], {}

    # Room on stdout for the packed workspace (the command's own output is capped by the wrapper).
    limits = dataclasses.replace(self.limits, wall_s=min(self.limits.wall_s, timeout_s), output_bytes=256 << 20)
    result = runner.run_prepared(setup, limits=limits, copy_tree=self.workspace, read_paths=self.read_paths)
    output, packed = result.stdout, None
    at = output.rfind(MARKER)
    if at >= 0:
      output, packed = output[:at], output[at + len(MARKER) :].strip()
    output += result.stderr
    if packed:
      self._unpack(packed)
    else:  # killed before it could save (wall limit): the call's file changes are lost
      output += "\n[the command's file changes were lost: it did not finish]"
    if result.outcome in (
      runner.Outcome.TIMEOUT,
      runner.Outcome.MEMORY_LIMIT,
      runner.Outcome.OUTPUT_LIMIT,
      runner.Outcome.SANDBOX_ERROR,
    ):
      output += f"\n[{result.outcome.value}: {result.detail}]"
    code = result.exit_code if result.exit_code is not None else 128 + (result.signal or 9)
    return Observation(output, code)

  def _unpack(self, packed: str) -> None:
    """Replaces the workspace with the files a run sent back (untrusted: tarfile's `data` filter refuses
    absolute paths, links that leave the tree, devices and special bits)."""
    fresh = self._root / f"workspace.{uuid.uuid4().hex[:8]}"
    fresh.mkdir()
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(packed)), mode="r:gz") as tar:
      tar.extractall(fresh, filter=_data_or_skip)
    shutil.rmtree(self.workspace)
    fresh.rename(self.workspace)

  def read_file(self, path: str) -> str:
    target = self.resolve(path)
    if not target.is_file():
      raise FileNotFoundError(f"no file {path!r} in the workspace")
    return target.read_bytes().decode("utf-8", errors="replace")

  def write_file(self, path: str, content: str) -> None:
    target = self.resolve(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)

  def close(self) -> None:
    shutil.rmtree(self._root, ignore_errors=True)


class SweRexSession:
  """One SWE-ReX bash session in a deployment: "local" (this host, NOT isolated), "docker" or "modal"."""

  def __init__(
    self,
    deployment: str = "docker",
    files: Mapping[str, str] | None = None,
    copy_tree: str | os.PathLike | None = None,
    **config,
  ):
    try:
      from swerex.runtime.abstract import CreateBashSessionRequest  # pylint: disable=import-outside-toplevel
    except ImportError as error:
      raise RuntimeError("SWE-ReX sessions need `pip install 'hrm-jax[sandbox]'` (swe-rex)") from error
    from hrm_jax.sandbox import swerex_backend  # pylint: disable=import-outside-toplevel

    # The backend owns the deployment and its event loop (started here, stopped by close()).
    self._backend = swerex_backend.SweRexBackend(deployment, **config)
    self.name = self._backend.name
    self._runtime = self._backend._deployment.runtime  # pylint: disable=protected-access
    self.workspace = f"/tmp/hrm_jax_agent_{uuid.uuid4().hex}"
    call = self._backend._call  # pylint: disable=protected-access
    self._call = call
    from swerex.runtime.abstract import Command, UploadRequest  # pylint: disable=import-outside-toplevel

    if copy_tree is not None:  # the upload creates the workspace
      call(self._runtime.upload(UploadRequest(source_path=str(copy_tree), target_path=self.workspace)))
    else:
      call(self._runtime.execute(Command(command=["mkdir", "-p", self.workspace])))
    call(self._runtime.create_session(CreateBashSessionRequest(startup_source=[])))
    self.run(f"cd {shlex.quote(self.workspace)}")
    for path, content in (files or {}).items():
      self.write_file(path, content)

  def _remote(self, path: str) -> str:
    rel = pathlib.PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts:
      raise ValueError(f"path {path!r} must be relative to the workspace, without '..'")
    return f"{self.workspace}/{rel}"

  def run(self, command: str, timeout_s: float = 60.0) -> Observation:
    from swerex.exceptions import CommandTimeoutError  # pylint: disable=import-outside-toplevel
    from swerex.runtime.abstract import BashAction  # pylint: disable=import-outside-toplevel

    try:
      obs = self._call(self._runtime.run_in_session(BashAction(command=command, timeout=timeout_s, check="silent")))
    except CommandTimeoutError as error:
      return Observation(f"[timeout: {timeout_s:g}s ({error})]", 124)
    return Observation(obs.output, obs.exit_code if obs.exit_code is not None else 1)

  def read_file(self, path: str) -> str:
    from swerex.runtime.abstract import ReadFileRequest  # pylint: disable=import-outside-toplevel

    return self._call(self._runtime.read_file(ReadFileRequest(path=self._remote(path)))).content

  def write_file(self, path: str, content: str) -> None:
    from swerex.runtime.abstract import WriteFileRequest  # pylint: disable=import-outside-toplevel

    self._call(self._runtime.write_file(WriteFileRequest(content=content, path=self._remote(path))))

  def close(self) -> None:
    try:
      from swerex.runtime.abstract import Command  # pylint: disable=import-outside-toplevel

      self._call(self._runtime.execute(Command(command=["rm", "-rf", self.workspace])))
    finally:
      self._backend.close()


def open_session(kind: str = "sandbox", **kwargs) -> Session:
  """`sandbox` (default), or `swerex-local` / `swerex-docker` / `swerex-modal`."""
  if kind == "sandbox":
    return SandboxSession(**kwargs)
  if kind.startswith("swerex-"):
    return SweRexSession(kind.split("-", 1)[1], **kwargs)
  raise ValueError(f"unknown session kind {kind!r}: sandbox, swerex-local, swerex-docker or swerex-modal")
