"""Offline toolchains for the six Polyglot languages: where they live, how to find them, how to fetch them.

`hrm-jax setup-toolchains` calls `setup()` once, online, to fill a cache directory; after that every test
command of `hrm_jax.sandbox.languages` runs with no network. The cache (default `~/.cache/hrm-jax/toolchains`,
or `$HRM_JAX_TOOLCHAINS`, or `--cache-dir`) holds:

```
java/lib/*.jar             JUnit Platform console launcher (Jupiter 5.10.0), AssertJ and the jars the
                           Polyglot Java exercises use, from Maven Central, checked against their .sha1
javascript/node_modules/   jest 29.7.0, babel and the Exercism preset, from npm (the pins of aider's
                           benchmark Dockerfile, jest pinned to 29.7.0)
rust/vendor/               the crates the Polyglot Rust exercises use, vendored by `cargo vendor`
rust/cargo-home/           a CARGO_HOME whose config.toml replaces crates.io with rust/vendor (read-only use)
go/build-cache/            a GOCACHE warmed with the standard-library packages the exercises import; each
                           test run gets a private copy (Go cannot use a read-only GOCACHE), so it compiles
                           just the exercise (0.3 s instead of 25 s on 2 cores)
go/path/                   an empty GOPATH (the exercises use the standard library only)
```
System packages (compilers, cmake, Boost date_time, a JDK, Node, Go) come from Debian's apt when missing.
Everything a run needs from here is listed by `languages.toolchain_read_paths()`.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable

LANGUAGES = ("cpp", "go", "java", "javascript", "python", "rust")
ENV_VAR = "HRM_JAX_TOOLCHAINS"
DEFAULT_ROOT = pathlib.Path("~/.cache/hrm-jax/toolchains")
FIX = "hrm-jax setup-toolchains"

# Maven Central (a mirror can be named in $HRM_JAX_MAVEN_REPO).
MAVEN_REPO = "https://repo1.maven.org/maven2"


@dataclasses.dataclass(frozen=True)
class MavenJar:
  group: str
  artifact: str
  version: str
  why: str

  @property
  def file_name(self) -> str:
    return f"{self.artifact}-{self.version}.jar"

  def url(self, repo: str) -> str:
    return f"{repo}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.file_name}"


# The Polyglot Java build.gradle pins the JUnit BOM 5.10.0 (= JUnit Platform 1.10.0) and assertj-core 3.25.1;
# hangman needs rxjava 2.2.12 and rest-api org.json 20190722 (reference/benchmarks.md, A1 and A3). The
# console-standalone jar bundles Jupiter api/engine/params, opentest4j and apiguardian. Transitive
# compile dependencies were read from the artifacts' POMs on Maven Central.
JAVA_JARS: tuple[MavenJar, ...] = (
  MavenJar("org.junit.platform", "junit-platform-console-standalone", "1.10.0", "JUnit 5.10.0 runner"),
  MavenJar("org.assertj", "assertj-core", "3.25.1", "AssertJ (build.gradle)"),
  MavenJar("net.bytebuddy", "byte-buddy", "1.14.11", "assertj-core 3.25.1 compile dependency"),
  MavenJar("io.reactivex.rxjava2", "rxjava", "2.2.12", "java/hangman"),
  MavenJar("org.reactivestreams", "reactive-streams", "1.0.2", "rxjava 2.2.12 compile dependency"),
  MavenJar("org.json", "json", "20190722", "java/rest-api"),
)
JUNIT_CONSOLE_JAR = JAVA_JARS[0].file_name

# aider's benchmark Dockerfile installs these into /npm-install; it leaves jest unpinned, we pin the 29.7.0
# that the exercises' package.json asks for (^29.7.0).
NPM_PACKAGES: dict[str, str] = {
  "@babel/core": "7.25.2",
  "@exercism/babel-preset-javascript": "0.2.1",
  "@exercism/eslint-config-javascript": "0.6.0",
  "@types/jest": "29.5.12",
  "@types/node": "20.12.12",
  "babel-jest": "29.6.4",
  "core-js": "3.37.1",
  "eslint": "8.49.0",
  "jest": "29.7.0",
}

# Crates named by the Polyglot Rust stubs (time, anyhow, rand 0.8) and reference Cargo files (the rest), with
# the version requirements they use (reference/benchmarks.md, A1). `alias` lets one seed crate depend on two
# major versions of the same crate.
RUST_CRATES: tuple[tuple[str, str, str], ...] = (
  ("time", "time", "0.3"),
  ("anyhow", "anyhow", "1.0"),
  ("rand", "rand", "0.8"),
  ("thiserror", "thiserror", "1.0"),
  ("itertools", "itertools", "0.5"),
  ("permutohedron", "permutohedron", "0.2"),
  ("num-bigint", "num-bigint", "0.4.4"),
  ("num-traits", "num-traits", "0.2.16"),
  ("regex", "regex", "0.2"),
  ("counter", "counter", "0.5.2"),
  ("rand_0_3", "rand", "0.3.12"),
)

# Standard-library packages compiled into the warm Go build cache: those the Exercism/Polyglot Go exercises
# and their tests import, plus what `go test` itself links. Others still work; they compile at test time.
GO_WARM_PACKAGES: tuple[str, ...] = (
  "bufio",
  "bytes",
  "container/heap",
  "container/list",
  "encoding/json",
  "errors",
  "fmt",
  "io",
  "math",
  "math/big",
  "math/bits",
  "math/rand",
  "os",
  "reflect",
  "regexp",
  "slices",
  "sort",
  "strconv",
  "strings",
  "sync",
  "sync/atomic",
  "testing",
  "text/tabwriter",
  "time",
  "unicode",
  "unicode/utf8",
)

# Debian packages that provide each missing piece (Debian 12 "bookworm" names).
DEBIAN_PACKAGES: dict[str, str] = {
  "cmake": "cmake",
  "make": "make",
  "c++": "g++",
  "boost-date-time": "libboost-date-time-dev",
  "java": "default-jdk-headless",
  "javac": "default-jdk-headless",
  "node": "nodejs",
  "npm": "npm",
  "go": "golang-go",
}


class ToolchainMissingError(RuntimeError):
  """A language's toolchain or offline cache is missing; the message names the fix."""


def toolchains_root(override: str | os.PathLike | None = None) -> pathlib.Path:
  """The cache directory: `override`, else `$HRM_JAX_TOOLCHAINS`, else `~/.cache/hrm-jax/toolchains`."""
  chosen = override or os.environ.get(ENV_VAR) or DEFAULT_ROOT
  return pathlib.Path(chosen).expanduser().absolute()


# ----------------------------------------------------------------------------------------------------------
# Locating tools (no side effects).


def which(name: str) -> pathlib.Path | None:
  found = shutil.which(name)
  return pathlib.Path(found) if found else None


def real_dir(path: pathlib.Path) -> pathlib.Path:
  """The directory that really holds an executable (resolving alternatives and shims)."""
  return path.resolve().parent


@functools.cache
def rust_bin_dir() -> pathlib.Path | None:
  """The `bin` directory of the active Rust toolchain (not the rustup proxies), or None."""
  rustup = which("rustup")
  if rustup is not None:
    done = subprocess.run([str(rustup), "which", "cargo"], capture_output=True, text=True, timeout=60)
    if done.returncode == 0 and done.stdout.strip():
      return pathlib.Path(done.stdout.strip()).parent
  cargo = which("cargo")
  return real_dir(cargo) if cargo is not None else None


def java_home() -> pathlib.Path | None:
  javac = which("javac")
  return real_dir(javac).parent if javac is not None else None


def python_has_pytest(python: str = sys.executable) -> bool:
  done = subprocess.run([python, "-c", "import pytest"], capture_output=True, timeout=60)
  return done.returncode == 0


def tool_version(argv: list[str]) -> str:
  """First non-empty line of a tool's version output ('' when it cannot run)."""
  try:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
  except (OSError, subprocess.SubprocessError):
    return ""
  for line in (done.stdout + done.stderr).splitlines():
    if line.strip():
      return line.strip()
  return ""


# Cache layout.
def java_lib_dir(root: pathlib.Path) -> pathlib.Path:
  return root / "java" / "lib"


def node_modules_dir(root: pathlib.Path) -> pathlib.Path:
  return root / "javascript" / "node_modules"


def jest_script(root: pathlib.Path) -> pathlib.Path:
  return node_modules_dir(root) / "jest" / "bin" / "jest.js"


def cargo_home(root: pathlib.Path) -> pathlib.Path:
  return root / "rust" / "cargo-home"


def rust_vendor_dir(root: pathlib.Path) -> pathlib.Path:
  return root / "rust" / "vendor"


def go_build_cache(root: pathlib.Path) -> pathlib.Path:
  return root / "go" / "build-cache"


def go_path(root: pathlib.Path) -> pathlib.Path:
  return root / "go" / "path"


def boost_date_time_present() -> bool:
  """Boost.DateTime headers and the CMake package that `find_package(Boost COMPONENTS date_time)` reads."""
  if not pathlib.Path("/usr/include/boost/date_time.hpp").exists():
    return False
  patterns = (
    "/usr/lib/*/cmake/boost_date_time-*/boost_date_time-config.cmake",
    "/usr/lib/cmake/boost_date_time-*/boost_date_time-config.cmake",
    "/usr/local/lib/cmake/boost_date_time-*/boost_date_time-config.cmake",
  )
  return any(glob.glob(pattern) for pattern in patterns)


def go_env(root: pathlib.Path, cache: pathlib.Path) -> dict[str, str]:
  """Go settings shared by the test command and the cache warm-up (a mismatch would miss the cache).

  `cache` is the GOCACHE: the warm cache itself for the warm-up, a private copy of it for a test run.
  """
  return {
    "GOCACHE": str(cache),
    "GOPATH": str(go_path(root)),
    "GOFLAGS": "-mod=mod",
    "GOPROXY": "off",
    "GOSUMDB": "off",
    "GOTOOLCHAIN": "local",
    "GOTELEMETRY": "off",
    "GOENV": "off",
    "CGO_ENABLED": "0",
  }


# ----------------------------------------------------------------------------------------------------------
# Checking (no side effects).


@dataclasses.dataclass
class LanguageStatus:
  """What one language has and lacks. `missing` entries each say what is missing and how to fix it."""

  language: str
  found: list[str] = dataclasses.field(default_factory=list)
  missing: list[str] = dataclasses.field(default_factory=list)

  @property
  def ok(self) -> bool:
    return not self.missing


def _need_tool(status: LanguageStatus, name: str, version_argv: list[str] | None = None) -> pathlib.Path | None:
  path = which(name)
  if path is None:
    package = DEBIAN_PACKAGES.get(name)
    fix = f"apt-get install {package} (or run `{FIX}` as root)" if package else f"install {name}"
    status.missing.append(f"`{name}` not on PATH: {fix}")
    return None
  version = tool_version(version_argv) if version_argv else ""
  status.found.append(f"{name}: {path}" + (f" ({version})" if version else ""))
  return path


def check_cpp(root: pathlib.Path) -> LanguageStatus:
  del root
  status = LanguageStatus("cpp")
  _need_tool(status, "cmake", ["cmake", "--version"])
  _need_tool(status, "make")
  _need_tool(status, "c++", ["c++", "--version"])
  if boost_date_time_present():
    status.found.append("Boost date_time (headers and CMake package)")
  else:
    status.missing.append(
      f"Boost date_time (gigasecond, meetup): apt-get install libboost-date-time-dev (or run `{FIX}` as root)"
    )
  return status


def check_go(root: pathlib.Path) -> LanguageStatus:
  status = LanguageStatus("go")
  if _need_tool(status, "go", ["go", "version"]) is None:
    return status
  stamp = go_build_cache(root) / "hrm-jax-warm.json"
  if stamp.exists():
    status.found.append(f"warm build cache: {go_build_cache(root)}")
  else:
    status.missing.append(f"warm Go build cache {go_build_cache(root)}: run `{FIX} --languages go`")
  return status


def check_java(root: pathlib.Path) -> LanguageStatus:
  status = LanguageStatus("java")
  _need_tool(status, "javac", ["javac", "-version"])
  _need_tool(status, "java")
  lib = java_lib_dir(root)
  absent = [jar.file_name for jar in JAVA_JARS if not (lib / jar.file_name).exists()]
  if absent:
    status.missing.append(f"jars {', '.join(absent)} in {lib}: run `{FIX} --languages java`")
  else:
    status.found.append(f"{len(JAVA_JARS)} jars (JUnit 5.10.0, AssertJ 3.25.1, ...) in {lib}")
  return status


def check_javascript(root: pathlib.Path) -> LanguageStatus:
  status = LanguageStatus("javascript")
  _need_tool(status, "node", ["node", "--version"])
  jest_package = node_modules_dir(root) / "jest" / "package.json"
  if jest_package.exists():
    version = json.loads(jest_package.read_text()).get("version", "?")
    status.found.append(f"jest {version} and babel in {node_modules_dir(root)}")
  else:
    status.missing.append(f"jest/babel node_modules in {node_modules_dir(root)}: run `{FIX} --languages javascript`")
  return status


def check_python(root: pathlib.Path) -> LanguageStatus:
  del root
  status = LanguageStatus("python")
  status.found.append(f"python: {sys.executable} ({sys.version.split()[0]})")
  if python_has_pytest():
    status.found.append("pytest importable")
  else:
    status.missing.append(f"pytest not importable by {sys.executable}: {sys.executable} -m pip install pytest")
  return status


def check_rust(root: pathlib.Path) -> LanguageStatus:
  status = LanguageStatus("rust")
  bin_dir = rust_bin_dir()
  if bin_dir is None:
    status.missing.append(
      f"cargo not found: install Rust with rustup (https://rustup.rs), then run `{FIX} --languages rust`"
    )
    return status
  status.found.append(f"cargo: {bin_dir / 'cargo'} ({tool_version([str(bin_dir / 'cargo'), '--version'])})")
  config = cargo_home(root) / "config.toml"
  if config.exists() and (rust_vendor_dir(root) / "hrm-jax-vendor.json").exists():
    count = sum(1 for p in rust_vendor_dir(root).iterdir() if p.is_dir())
    status.found.append(f"{count} vendored crates in {rust_vendor_dir(root)}")
  else:
    status.missing.append(f"vendored crates in {rust_vendor_dir(root)}: run `{FIX} --languages rust`")
  return status


CHECKS: dict[str, Callable[[pathlib.Path], LanguageStatus]] = {
  "cpp": check_cpp,
  "go": check_go,
  "java": check_java,
  "javascript": check_javascript,
  "python": check_python,
  "rust": check_rust,
}


def check(root: pathlib.Path, languages: Iterable[str] = LANGUAGES) -> dict[str, LanguageStatus]:
  return {language: CHECKS[language](root) for language in languages}


# ----------------------------------------------------------------------------------------------------------
# Fetching (online; each step skips what is already there).

Log = Callable[[str], None]


def _run(
  argv: list[str], log: Log, env: dict[str, str] | None = None, cwd: pathlib.Path | None = None, timeout: float = 900
) -> None:
  log("  $ " + " ".join(argv))
  done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
  if done.returncode != 0:
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
    raise ToolchainMissingError(f"`{' '.join(argv)}` failed with exit code {done.returncode}:\n{tail}")


def _debian_installed(package: str) -> bool:
  if which("dpkg-query") is None:
    return False
  done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
  return done.returncode == 0 and "install ok installed" in done.stdout


def missing_debian_packages(languages: Iterable[str]) -> list[str]:
  """Debian packages that would provide the system tools the chosen languages lack."""
  wanted: list[str] = []
  needs = {
    "cpp": ["cmake", "make", "c++"],
    "java": ["javac", "java"],
    "javascript": ["node", "npm"],
    "go": ["go"],
  }
  for language in languages:
    for tool in needs.get(language, []):
      if which(tool) is None:
        wanted.append(DEBIAN_PACKAGES[tool])
    if language == "cpp" and not boost_date_time_present():
      wanted.append(DEBIAN_PACKAGES["boost-date-time"])
  return sorted(set(wanted))


def install_debian_packages(packages: list[str], log: Log) -> None:
  if not packages:
    return
  if which("apt-get") is None or os.geteuid() != 0:
    raise ToolchainMissingError(
      f"missing system packages {' '.join(packages)}: install them with your package "
      f"manager (on Debian/Ubuntu, as root: apt-get install {' '.join(packages)})"
    )
  env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
  _run(["apt-get", "update", "-qq"], log, env=env)
  _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], log, env=env)


def _sha1(path: pathlib.Path) -> str:
  digest = hashlib.sha1()
  with path.open("rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def _download(url: str, timeout: float = 120) -> bytes:
  with urllib.request.urlopen(url, timeout=timeout) as response:
    return response.read()


def fetch_java(root: pathlib.Path, log: Log) -> None:
  """Downloads the jars into `java/lib`, verifying each against Maven Central's published SHA-1."""
  lib = java_lib_dir(root)
  lib.mkdir(parents=True, exist_ok=True)
  repo = os.environ.get("HRM_JAX_MAVEN_REPO", MAVEN_REPO).rstrip("/")
  for jar in JAVA_JARS:
    target = lib / jar.file_name
    recorded = lib / (jar.file_name + ".sha1")
    if target.exists() and recorded.exists() and _sha1(target) == recorded.read_text().strip():
      continue
    url = jar.url(repo)
    log(f"  GET {url}")
    try:
      expected = _download(url + ".sha1").decode().split()[0].strip()
      payload = _download(url)
    except OSError as error:
      raise ToolchainMissingError(
        f"cannot download {url} ({error}); check the network or set HRM_JAX_MAVEN_REPO to a Maven mirror"
      ) from error
    actual = hashlib.sha1(payload).hexdigest()
    if actual != expected:
      raise ToolchainMissingError(f"{url}: SHA-1 {actual} does not match the published {expected}")
    partial = target.with_suffix(".partial")
    partial.write_bytes(payload)
    partial.replace(target)
    recorded.write_text(expected + "\n")


def fetch_javascript(root: pathlib.Path, log: Log) -> None:
  """`npm install`s the pinned jest/babel set into `javascript/node_modules` (skipped when up to date)."""
  home = root / "javascript"
  home.mkdir(parents=True, exist_ok=True)
  manifest = {
    "name": "hrm-jax-polyglot-javascript",
    "private": True,
    "description": "Shared node_modules for Polyglot JavaScript exercises (hrm-jax setup-toolchains)",
    "dependencies": dict(sorted(NPM_PACKAGES.items())),
  }
  text = json.dumps(manifest, indent=2) + "\n"
  stamp = home / "hrm-jax-installed.json"
  if stamp.exists() and stamp.read_text() == text and jest_script(root).exists():
    return
  npm = which("npm")
  if npm is None:
    raise ToolchainMissingError("npm not found: apt-get install npm (or run `hrm-jax setup-toolchains` as root)")
  (home / "package.json").write_text(text)
  # A throw-away npm cache inside the toolchains cache: nothing is left in the user's ~/.npm.
  download_cache = home / "npm-download-cache"
  try:
    _run(
      [str(npm), "install", "--no-audit", "--no-fund", "--loglevel=error", "--cache", str(download_cache)],
      log,
      cwd=home,
    )
  finally:
    shutil.rmtree(download_cache, ignore_errors=True)
  stamp.write_text(text)


def _rust_seed_manifest() -> str:
  lines = [
    "[package]",
    'name = "hrm-jax-polyglot-crates"',
    'version = "0.0.0"',
    'edition = "2021"',
    "publish = false",
    "",
    "[lib]",
    'path = "lib.rs"',
    "",
    "[dependencies]",
  ]
  for alias, package, requirement in RUST_CRATES:
    if alias == package:
      lines.append(f'{alias} = "{requirement}"')
    else:
      lines.append(f'{alias} = {{ package = "{package}", version = "{requirement}" }}')
  return "\n".join(lines) + "\n"


def _prune_windows_import_libraries(vendor: pathlib.Path) -> None:
  """Drops the Windows import libraries (~100 MB) of winapi's *-pc-windows-gnu crates.

  Those crates are dependencies only on Windows targets, so cargo never reads their files on Linux; their
  checksum lists are rewritten so the directory source stays consistent.
  """
  for crate in vendor.iterdir():
    if not (crate.name.startswith("winapi-") and "windows-gnu" in crate.name):
      continue
    shutil.rmtree(crate / "lib", ignore_errors=True)
    checksum_file = crate / ".cargo-checksum.json"
    checksums = json.loads(checksum_file.read_text())
    checksums["files"] = {k: v for k, v in checksums["files"].items() if not k.startswith("lib/")}
    checksum_file.write_text(json.dumps(checksums))


def rust_env(root: pathlib.Path, bin_dir: pathlib.Path) -> dict[str, str]:
  """Cargo settings for offline use of the vendored crates (shared by tests and the setup's check)."""
  return {
    "CARGO_HOME": str(cargo_home(root)),
    "CARGO_NET_OFFLINE": "true",
    "CARGO_INCREMENTAL": "0",
    "CARGO_TERM_COLOR": "never",
    "RUSTC": str(bin_dir / "rustc"),
    "RUSTDOC": str(bin_dir / "rustdoc"),
  }


def fetch_rust(root: pathlib.Path, log: Log) -> None:
  """Vendors RUST_CRATES into `rust/vendor` and writes a CARGO_HOME that points crates.io at it."""
  bin_dir = rust_bin_dir()
  if bin_dir is None:
    raise ToolchainMissingError("cargo not found: install Rust with rustup (https://rustup.rs)")
  manifest = _rust_seed_manifest()
  vendor = rust_vendor_dir(root)
  stamp = vendor / "hrm-jax-vendor.json"
  stamp_text = json.dumps({"manifest": manifest}, indent=2) + "\n"
  seed = root / "rust" / "seed"
  if not (stamp.exists() and stamp.read_text() == stamp_text):
    seed.mkdir(parents=True, exist_ok=True)
    (seed / "Cargo.toml").write_text(manifest)
    (seed / "lib.rs").write_text("")
    (seed / "Cargo.lock").unlink(missing_ok=True)
    staging = root / "rust" / "vendor.partial"
    shutil.rmtree(staging, ignore_errors=True)
    # Download through a throw-away CARGO_HOME: nothing is left in the user's ~/.cargo.
    download_home = root / "rust" / "download-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO_", "RUSTUP_TOOLCHAIN"))}
    env.update(
      PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", CARGO_HOME=str(download_home), RUSTC=str(bin_dir / "rustc")
    )
    try:
      _run(
        [
          str(bin_dir / "cargo"),
          "vendor",
          "--versioned-dirs",
          "--manifest-path",
          str(seed / "Cargo.toml"),
          str(staging),
        ],
        log,
        env=env,
      )
    finally:
      shutil.rmtree(download_home, ignore_errors=True)
    _prune_windows_import_libraries(staging)
    shutil.rmtree(vendor, ignore_errors=True)
    staging.replace(vendor)
    stamp.write_text(stamp_text)
  home = cargo_home(root)
  home.mkdir(parents=True, exist_ok=True)
  config = (
    "# Written by `hrm-jax setup-toolchains`: crates.io is replaced by the vendored copy.\n"
    '[source.crates-io]\nreplace-with = "hrm-jax-vendored"\n\n'
    f'[source.hrm-jax-vendored]\ndirectory = "{vendor}"\n\n[net]\noffline = true\n'
  )
  config_path = home / "config.toml"
  if not config_path.exists() or config_path.read_text() != config:
    config_path.write_text(config)
  # Prove that every requirement resolves offline against the vendored set (once per vendored set, cargo and
  # configuration: the proof's stamp records them).
  proof = home / "hrm-jax-offline-proof.json"
  proof_text = json.dumps(
    {"vendor": stamp_text, "cargo": tool_version([str(bin_dir / "cargo"), "--version"]), "config": config}
  )
  if proof.exists() and proof.read_text() == proof_text and (seed / "Cargo.lock").exists():
    return
  env = {"PATH": f"{bin_dir}{os.pathsep}/usr/local/bin:/usr/bin:/bin", "HOME": str(seed), **rust_env(root, bin_dir)}
  (seed / "Cargo.lock").unlink(missing_ok=True)
  _run(
    [str(bin_dir / "cargo"), "generate-lockfile", "--offline", "--manifest-path", str(seed / "Cargo.toml")],
    log,
    env=env,
  )
  proof.write_text(proof_text)


GO_REWARM_S = 24 * 3600  # `fetch_go` warms the build cache again after this long


def fetch_go(root: pathlib.Path, log: Log) -> None:
  """Warms `go/build-cache` with `go test` (which also runs vet) on a module importing GO_WARM_PACKAGES.

  The cache is keyed by the Go version and Go trims entries unused for 5 days, so this runs again when the
  stamp names another Go version or is over a day old (the tests' Go builds refresh what they use meanwhile).
  """
  go = which("go")
  if go is None:
    raise ToolchainMissingError("go not found: apt-get install golang-go (or run `hrm-jax setup-toolchains` as root)")
  stamp = go_build_cache(root) / "hrm-jax-warm.json"
  stamp_text = json.dumps({"go": tool_version([str(go), "version"]), "packages": list(GO_WARM_PACKAGES)}) + "\n"
  if stamp.exists() and stamp.read_text() == stamp_text and time.time() - stamp.stat().st_mtime < GO_REWARM_S:
    return
  warm = root / "go" / "warm"
  warm.mkdir(parents=True, exist_ok=True)
  go_path(root).mkdir(parents=True, exist_ok=True)
  go_build_cache(root).mkdir(parents=True, exist_ok=True)
  (warm / "go.mod").write_text("module hrmjaxwarm\n\ngo 1.18\n")
  (warm / "warm.go").write_text(
    "package hrmjaxwarm\n\n// Answer exists so the package is not empty.\nfunc Answer() int { return 42 }\n"
  )
  imports = "\n".join(f'\t_ "{package}"' for package in GO_WARM_PACKAGES if package != "testing")
  (warm / "warm_test.go").write_text(
    f'package hrmjaxwarm\n\nimport (\n{imports}\n\t"testing"\n)\n\n'
    "func TestAnswer(t *testing.T) {\n\tif Answer() != 42 {\n"
    '\t\tt.Fatal("wrong answer")\n\t}\n}\n'
  )
  env = {
    "PATH": f"{real_dir(go)}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
    "HOME": str(warm),
    **go_env(root, go_build_cache(root)),
  }
  _run([str(go), "test", "-count=1", "./..."], log, env=env, cwd=warm)
  stamp.write_text(stamp_text)


def fetch_python(root: pathlib.Path, log: Log) -> None:
  del root
  if not python_has_pytest():
    _run([sys.executable, "-m", "pip", "install", "-q", "pytest>=8"], log)


def fetch_cpp(root: pathlib.Path, log: Log) -> None:
  """C++ needs only system packages (installed by the apt step); the exercises carry their test header."""
  del root, log


FETCHERS: dict[str, Callable[[pathlib.Path, Log], None]] = {
  "cpp": fetch_cpp,
  "go": fetch_go,
  "java": fetch_java,
  "javascript": fetch_javascript,
  "python": fetch_python,
  "rust": fetch_rust,
}


@dataclasses.dataclass
class SetupResult:
  statuses: dict[str, LanguageStatus]
  seconds: dict[str, float]
  errors: dict[str, str]


def setup(
  root: pathlib.Path, languages: Iterable[str] = LANGUAGES, use_apt: bool = True, log: Log = print
) -> SetupResult:
  """Installs what is missing (system packages, then each language's cache) and reports the result."""
  languages = tuple(languages)
  root.mkdir(parents=True, exist_ok=True)
  errors: dict[str, str] = {}
  seconds: dict[str, float] = {}
  packages = missing_debian_packages(languages)
  if packages:
    if use_apt:
      log(f"system packages: installing {' '.join(packages)}")
      try:
        install_debian_packages(packages, log)
      except (ToolchainMissingError, subprocess.SubprocessError) as error:
        errors["apt"] = str(error)
    else:
      log(f"system packages missing (not installed, --no-apt): {' '.join(packages)}")
  for language in languages:
    start = time.perf_counter()
    log(f"{language}: preparing")
    try:
      FETCHERS[language](root, log)
    except (ToolchainMissingError, OSError, subprocess.SubprocessError) as error:
      errors[language] = str(error)
    seconds[language] = time.perf_counter() - start
  return SetupResult(statuses=check(root, languages), seconds=seconds, errors=errors)


def disk_usage(path: pathlib.Path) -> int:
  """Bytes used by the files under `path` (symlinks not followed)."""
  total = 0
  for dirpath, _, filenames in os.walk(path):
    for name in filenames:
      try:
        total += os.lstat(os.path.join(dirpath, name)).st_size
      except OSError:
        pass
  return total


def format_report(
  statuses: dict[str, LanguageStatus],
  root: pathlib.Path,
  seconds: dict[str, float] | None = None,
  errors: dict[str, str] | None = None,
) -> str:
  """A per-language table: OK or MISSING, what was found, and for each missing piece the fix."""
  lines = [f"toolchains cache: {root}"]
  for language, status in statuses.items():
    took = f" [{seconds[language]:.1f} s]" if seconds and language in seconds else ""
    lines.append(f"{language:<11} {'OK' if status.ok else 'MISSING'}{took}")
    lines += [f"    found:   {item}" for item in status.found]
    lines += [f"    MISSING: {item}" for item in status.missing]
  for step, message in (errors or {}).items():
    first, *rest = message.splitlines() or [""]
    lines.append(f"error in {step}: {first}")
    lines += [f"    {line}" for line in rest]
  return "\n".join(lines)


def missing_message(language: str, root: pathlib.Path) -> str:
  status = CHECKS[language](root)
  return f"{language} toolchain incomplete: " + "; ".join(status.missing)


def require(language: str, root: pathlib.Path, paths: Iterable[pathlib.Path]) -> None:
  """Raises ToolchainMissingError (naming the fix) unless every path exists."""
  if not all(pathlib.Path(p).exists() for p in paths):
    raise ToolchainMissingError(missing_message(language, root))
