"""Build-and-test commands for Polyglot exercises in six languages, made to run offline.

For each language, this module says how to prepare an exercise directory (enable the tests that the
exercise ships disabled, the way aider's benchmark does, and link the shared offline caches) and which
command runs its tests. The commands follow aider's `run_unit_tests` (reference/benchmarks.md, A3):

| language   | aider runs                                          | here (offline)                                |
|------------|-----------------------------------------------------|-----------------------------------------------|
| cpp        | cpp-test.sh: cmake -DEXERCISM_RUN_ALL_TESTS=1; make | the same                                      |
| go         | go test ./...                                       | the same; GOPROXY=off, copy of a warm GOCACHE |
| java       | ./gradlew test (downloads Gradle and jars)          | javac + JUnit console launcher; cached jars   |
| javascript | npm-test.sh: xtest( -> test(; npm run test          | the same rewrite; jest 29.7.0 from the cache  |
| python     | pytest                                              | pytest; no ini files from above the exercise  |
| rust       | cargo test -- --include-ignored                     | cargo test --offline; vendored crates         |

Why javac + the console launcher for Java instead of Gradle: Gradle needs its 130 MB distribution (Debian's
Gradle 4.4 is too old for JDK 17 and JUnit 5), a warm daemon to be fast, and a writable GRADLE_USER_HOME;
Maven offline needs the surefire and compiler plugins' whole dependency trees pre-seeded. Two `javac` calls
and one JVM running JUnit 5.10 (the version the exercises' build.gradle pins) need six jars, no writable
cache, and take about 3 s per exercise. The test report is the console launcher's tree with full failure
messages and stack traces, which is what the model sees on its second attempt.

`TestCommand.env` is the command's complete environment (nothing is inherited from the caller, so a run
does not depend on the user's shell); a sandbox may add TMPDIR. HOME is the exercise directory. Every
cache the commands read is listed by `toolchain_read_paths()` and is never written by a test run. The
only things `prepare_exercise` adds to an exercise directory are `node_modules` (a symlink, JavaScript) and
`.gocache` (Go: a private copy of the warm build cache, about 60 MB, copied in 0.2-0.4 s, because Go
cannot build with a read-only GOCACHE; `go test ./...` skips directories whose name starts with a dot).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import gzip
import hashlib
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

from hrm_jax.sandbox import toolchains

LANGUAGES = ("cpp", "go", "java", "javascript", "python", "rust")

# aider's per-run test timeout (benchmark.py, run_unit_tests).
TEST_TIMEOUT_S = 180.0

# aider chooses the command from the suffixes of the exercise's test files; the first known suffix wins.
TEST_SUFFIXES = {".cpp": "cpp", ".go": "go", ".java": "java", ".js": "javascript", ".py": "python", ".rs": "rust"}

# Java: an @Disabled annotation with a parenthesised argument, and the whitespace after it (aider removes
# these; a bare @Disabled stays).
JAVA_DISABLED = re.compile(r"@Disabled\([^)]*\)\s*")
# JavaScript: aider's npm-test.sh rewrites `xtest(` at a word boundary; `xit(` and `test.skip(` stay.
JS_XTEST = re.compile(r"\bxtest\(")

SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
GO_CACHE_DIR = ".gocache"
JAVA_BUILD_DIR = "build/hrm-java"


@dataclasses.dataclass(frozen=True)
class TestCommand:
  """One test run: `argv` executed in the exercise directory with exactly `env`, killed after `timeout_s`."""

  __test__ = False  # not a pytest test class, whatever imports it
  argv: list[str]
  env: dict[str, str]
  timeout_s: float
  # RLIMIT_NPROC for the run (threads count): C++ tests may start ~1000 threads at once.
  processes: int = 512


def _check_language(language: str) -> None:
  if language not in LANGUAGES:
    raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")


def read_config(exercise_dir: pathlib.Path) -> dict:
  """The exercise's `.meta/config.json` ({} when absent)."""
  path = pathlib.Path(exercise_dir) / ".meta" / "config.json"
  if not path.exists():
    return {}
  try:
    return json.loads(path.read_text())
  except json.JSONDecodeError as error:
    raise ValueError(f"{path}: invalid JSON ({error})") from error


def test_files(exercise_dir: pathlib.Path) -> list[str]:
  """`files.test` of the exercise's config (paths relative to the exercise directory)."""
  return list(read_config(exercise_dir).get("files", {}).get("test", []))


def language_of_exercise(exercise_dir: pathlib.Path | str) -> str:
  """The exercise's language: from its test files' suffixes (as aider decides), else from its path.

  The path fallback recognises the corpus layout `<language>/exercises/practice/<name>`.
  """
  exercise_dir = pathlib.Path(exercise_dir)
  for name in test_files(exercise_dir):
    language = TEST_SUFFIXES.get(pathlib.PurePosixPath(name).suffix)
    if language is not None:
      return language
  parts = exercise_dir.resolve().parts
  if len(parts) >= 4 and parts[-3:-1] == ("exercises", "practice") and parts[-4] in LANGUAGES:
    return parts[-4]
  raise ValueError(
    f"{exercise_dir}: cannot tell the language (no test file with a known suffix in "
    f".meta/config.json files.test, and the path is not <language>/exercises/practice/<name>)"
  )


def _base_env(exercise_dir: pathlib.Path, tool_dirs: list[pathlib.Path]) -> dict[str, str]:
  path: list[str] = []
  for entry in [*map(str, tool_dirs), *SYSTEM_PATH]:
    if entry not in path:
      path.append(entry)
  return {"PATH": os.pathsep.join(path), "HOME": str(exercise_dir), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def _require_tool(language: str, name: str) -> pathlib.Path:
  found = toolchains.which(name)
  if found is None:
    raise toolchains.ToolchainMissingError(toolchains.missing_message(language, toolchains.toolchains_root()))
  return found


# ---------------------------------------------------------------------------------------------------------
# Preparation (what aider does to an exercise before it runs the tests).


def _java_test_paths(exercise_dir: pathlib.Path) -> list[pathlib.Path]:
  listed = [exercise_dir / name for name in test_files(exercise_dir) if name.endswith(".java")]
  return listed or sorted((exercise_dir / "src" / "test").rglob("*.java"))


def enable_java_tests(exercise_dir: pathlib.Path) -> None:
  for path in _java_test_paths(exercise_dir):
    if path.exists():
      text = path.read_text(encoding="utf-8")
      enabled = JAVA_DISABLED.sub("", text)
      if enabled != text:
        path.write_text(enabled, encoding="utf-8")


def enable_javascript_tests(exercise_dir: pathlib.Path) -> None:
  for path in sorted(exercise_dir.glob("*.spec.js")):
    text = path.read_text(encoding="utf-8")
    enabled = JS_XTEST.sub("test(", text)
    if enabled != text:
      path.write_text(enabled, encoding="utf-8")


def link_node_modules(exercise_dir: pathlib.Path, root: pathlib.Path) -> None:
  """Symlinks the shared node_modules into the exercise, as aider's npm-test.sh does, if it has none."""
  shared = toolchains.node_modules_dir(root)
  toolchains.require("javascript", root, [toolchains.jest_script(root)])
  link = exercise_dir / "node_modules"
  if link.is_symlink() and pathlib.Path(os.readlink(link)) != shared:
    link.unlink()
  if not link.exists() and not link.is_symlink():
    link.symlink_to(shared, target_is_directory=True)


def seed_go_cache(exercise_dir: pathlib.Path, root: pathlib.Path) -> None:
  """Gives the exercise its own copy of the warm Go build cache (kept if already there)."""
  warm = toolchains.go_build_cache(root)
  toolchains.require("go", root, [warm / "hrm-jax-warm.json"])
  private = exercise_dir / GO_CACHE_DIR
  if private.exists():
    return
  staging = exercise_dir / (GO_CACHE_DIR + ".partial")
  shutil.rmtree(staging, ignore_errors=True)
  shutil.copytree(warm, staging, symlinks=True)
  staging.rename(private)


def prepare_exercise(language: str, exercise_dir: pathlib.Path) -> None:
  """Makes an exercise directory ready for `test_command` (idempotent; call after restoring the tests).

  Java: removes `@Disabled("...")`; JavaScript: `xtest(` -> `test(` and links the shared node_modules;
  Go: copies the warm build cache into `.gocache`. C++ enables its tests with a cmake flag in the command,
  Rust with `--include-ignored`; Go and Python ship no disabled tests.
  """
  _check_language(language)
  exercise_dir = pathlib.Path(exercise_dir)
  if not exercise_dir.is_dir():
    raise FileNotFoundError(f"exercise directory {exercise_dir} does not exist")
  if language == "java":
    enable_java_tests(exercise_dir)
  elif language == "javascript":
    enable_javascript_tests(exercise_dir)
    link_node_modules(exercise_dir, toolchains.toolchains_root())
  elif language == "go":
    seed_go_cache(exercise_dir, toolchains.toolchains_root())


def reference_targets(exercise_dir: pathlib.Path) -> dict[str, str]:
  """Where each reference file goes: example path -> solution path (both relative to the exercise).

  The one placement rule (reference/benchmarks.md, A1), used by `install_reference_solution` and by the
  harness's oracle (`hrm_jax.evals.polyglot.reference_files`): Java matches by file name, and a reference
  class with no solution file of its name (a helper such as `Frame.java`) goes beside the solution classes,
  never over them; every other language replaces the solution file with the same suffix (`Cargo.toml`
  excluded); Rust's `.meta/Cargo-example.toml` becomes `Cargo.toml`, listed or not.
  """
  exercise_dir = pathlib.Path(exercise_dir)
  files = read_config(exercise_dir).get("files", {})
  solution = [pathlib.PurePosixPath(name) for name in files.get("solution", [])]
  examples = [pathlib.PurePosixPath(name) for name in files.get("example", [])]
  if not solution or not examples:
    raise ValueError(f"{exercise_dir / '.meta' / 'config.json'}: files.solution and files.example are required")
  language = language_of_exercise(exercise_dir)
  targets: dict[str, str] = {}
  for example in examples:
    if example.name == "Cargo-example.toml":
      target = pathlib.PurePosixPath("Cargo.toml")
    elif language == "java":
      same_name = [s for s in solution if s.name == example.name]
      java_dir = next((s.parent for s in solution if s.suffix == ".java"), pathlib.PurePosixPath("src/main/java"))
      target = same_name[0] if same_name else java_dir / example.name
    else:
      same_suffix = [s for s in solution if s.suffix == example.suffix and s.name != "Cargo.toml"]
      if not same_suffix:
        raise ValueError(
          f"{exercise_dir / '.meta' / 'config.json'}: no solution file with suffix "
          f"{example.suffix} for example {example}"
        )
      target = same_suffix[0]
    targets[str(example)] = str(target)
  cargo_example = ".meta/Cargo-example.toml"
  if language == "rust" and (exercise_dir / cargo_example).exists():
    targets[cargo_example] = "Cargo.toml"
  return targets


def install_reference_solution(exercise_dir: pathlib.Path) -> list[pathlib.Path]:
  """Copies the exercise's reference solution (`files.example`) over its stubs, placed by
  `reference_targets`; returns the files written."""
  exercise_dir = pathlib.Path(exercise_dir)
  written: list[pathlib.Path] = []
  for example, target in reference_targets(exercise_dir).items():
    destination = exercise_dir / target
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes((exercise_dir / example).read_bytes())
    written.append(destination)
  return written


# ---------------------------------------------------------------------------------------------------------
# Commands.


# C++: the CMakeLists stays authoritative (cmake configures, make builds and runs the tests, as aider's
# cpp-test.sh), but the test framework's main (`test/tests-main.cpp`: Catch2's implementation, about 9 s of
# the ~10 s build on a quiet 2-core machine) is compiled once and reused. Its object is keyed by what decides
# its content: the compiler's version, the target's flags.make (defines, includes and flags CMake derived from
# the CMakeLists, with the exercise's path abstracted) and every file under test/. After the configure step
# the test command copies a cached object with the same key to the path CMake builds it at; being newer than
# its inputs, make links it instead of compiling. Any difference (other flags, an edited framework file)
# misses the cache and make compiles as usual. Objects are only ever built from pristine exercises
# (`cpp_framework_warm_command`, in the sandbox), so a model's code never reaches the cache.
CPP_CONFIGURE = "mkdir -p build && cd build && cmake -DEXERCISM_RUN_ALL_TESTS=1 -G 'Unix Makefiles' .."
# glibc gives each new thread a stack the size of RLIMIT_STACK's soft limit (8 MiB by default), all of it
# counted by the sandbox's memory limit: 1000 threads alive at once would reserve 8 GiB. 2 MiB stacks bring
# that to 2 GiB, and 2 MiB is still a deep call stack (gcc raises its own limit for the compiler).
CPP_STACK_KIB = 2048
CPP_PROCESSES = 2048
CPP_OBJECT_MARKER = "@@HRM_CPP_FRAMEWORK_OBJECT@@"
# Runs in build/ after the configure: for each target and each framework source under test/, sets $key and
# $obj and runs the body given in $1.
_CPP_FRAMEWORK_LOOP = r"""
exercise=$(cd .. && pwd)
for target in CMakeFiles/*.dir; do
  [ -f "$target/flags.make" ] || continue
  for src in $(cd .. && find test -name '*.cpp' 2>/dev/null | LC_ALL=C sort); do
    obj="$target/$src.o"
    grep -q "^$obj:" "$target/build.make" || continue
    key=$({ c++ --version; sed "s|$exercise|@EXERCISE@|g" "$target/flags.make"; echo "$src";
            (cd .. && find test -type f -exec sha256sum {} + | LC_ALL=C sort -k 2); } | sha256sum | cut -c 1-40)
    BODY
  done
done
"""


def cpp_objects_dir(root: pathlib.Path | None = None) -> pathlib.Path:
  """Where prebuilt C++ test-framework objects are kept (read-only inside test runs)."""
  return (root or toolchains.toolchains_root()) / "cpp" / "framework-objects"


def _cpp_tools() -> list[pathlib.Path]:
  return [_require_tool("cpp", name) for name in ("cmake", "make", "c++")]


def _cpp_command(exercise_dir: pathlib.Path) -> TestCommand:
  tools = _cpp_tools()
  objects = shlex.quote(str(cpp_objects_dir()))
  use_cached = _CPP_FRAMEWORK_LOOP.replace(
    "BODY",
    f"""if [ -f {objects}/$key.o ]; then
      mkdir -p "$(dirname "$obj")" && cp {objects}/$key.o "$obj" && echo "Using the prebuilt $src object"
    fi""",
  )
  # The CMakeLists adds a target to ALL that runs the test binary, so make fails when a test fails.
  script = "\n".join(["set -e", CPP_CONFIGURE, use_cached, f"ulimit -S -s {CPP_STACK_KIB}", "make"])
  env = _base_env(exercise_dir, [tool.parent for tool in tools])
  return TestCommand(argv=["sh", "-c", script], env=env, timeout_s=TEST_TIMEOUT_S, processes=CPP_PROCESSES)


def cpp_framework_warm_command(exercise_dir: pathlib.Path) -> TestCommand:
  """For a copy of a PRISTINE C++ exercise: configure, compile each test-framework object and print each as
  `CPP_OBJECT_MARKER key base64(gzip(object))` lines for `store_cpp_framework_objects` (no tests run);
  objects already in the cache are printed as `CPP_OBJECT_MARKER key cached`."""
  tools = _cpp_tools()
  objects = shlex.quote(str(cpp_objects_dir()))
  # An object already cached (another exercise with the same flags and framework) is only named, not rebuilt.
  build = _CPP_FRAMEWORK_LOOP.replace(
    "BODY",
    f"""if [ -f {objects}/$key.o ]; then
      echo '{CPP_OBJECT_MARKER}' "$key" cached
    else
      make -f "$target/build.make" "$obj" >&2
      printf '%s %s ' '{CPP_OBJECT_MARKER}' "$key"; gzip -c "$obj" | base64 -w 0; echo
    fi""",
  )
  script = "\n".join(["set -e", CPP_CONFIGURE + " >&2", build])
  env = _base_env(pathlib.Path(exercise_dir).absolute(), [tool.parent for tool in tools])
  return TestCommand(argv=["sh", "-c", script], env=env, timeout_s=TEST_TIMEOUT_S)


@functools.lru_cache(maxsize=8)
def _compiler_version(compiler: str) -> str:
  if compiler == "None":
    return ""
  return subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False).stdout


def cpp_framework_fingerprint(exercise_dir: pathlib.Path) -> str:
  """What decides whether a pristine exercise's framework objects are already cached: the CMakeLists, every
  file under test/ and the compiler's version (the cached objects' own keys are computed in the sandbox)."""
  exercise_dir = pathlib.Path(exercise_dir)
  digest = hashlib.sha256()
  digest.update(_compiler_version(str(toolchains.which("c++"))).encode())
  for path in [exercise_dir / "CMakeLists.txt", *sorted((exercise_dir / "test").rglob("*"))]:
    if path.is_file():
      digest.update(str(path.relative_to(exercise_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
  return digest.hexdigest()[:40]


def cpp_framework_cached(exercise_dir: pathlib.Path) -> bool:
  """Whether `store_cpp_framework_objects` already ran for an exercise with this fingerprint."""
  return (cpp_objects_dir() / f"warm-{cpp_framework_fingerprint(exercise_dir)}.json").exists()


def store_cpp_framework_objects(exercise_dir: pathlib.Path, output: str) -> list[str]:
  """Writes the objects a `cpp_framework_warm_command` run printed into the cache (atomically) and marks
  the exercise's fingerprint as warm; returns the keys stored."""
  directory = cpp_objects_dir()
  directory.mkdir(parents=True, exist_ok=True)
  keys = []
  for line in output.splitlines():
    if not line.startswith(CPP_OBJECT_MARKER + " "):
      continue
    _, key, payload = line.split(" ", 2)
    if not re.fullmatch(r"[0-9a-f]{40}", key):
      raise ValueError(f"bad framework object key {key!r}")
    if payload == "cached" and (directory / f"{key}.o").exists():
      keys.append(key)
      continue
    data = gzip.decompress(base64.b64decode(payload))
    partial = directory / f".{key}.{os.getpid()}.partial"
    partial.write_bytes(data)
    partial.chmod(0o644)
    partial.replace(directory / f"{key}.o")
    keys.append(key)
  marker = directory / f"warm-{cpp_framework_fingerprint(exercise_dir)}.json"
  partial = directory / f".{marker.name}.{os.getpid()}.partial"
  partial.write_text(json.dumps({"exercise": pathlib.Path(exercise_dir).name, "objects": keys}))
  partial.replace(marker)
  return keys


def _go_command(exercise_dir: pathlib.Path) -> TestCommand:
  root = toolchains.toolchains_root()
  go = _require_tool("go", "go")
  toolchains.require("go", root, [toolchains.go_build_cache(root) / "hrm-jax-warm.json"])
  env = {**_base_env(exercise_dir, [toolchains.real_dir(go)]), **toolchains.go_env(root, exercise_dir / GO_CACHE_DIR)}
  return TestCommand(argv=[str(go), "test", "./..."], env=env, timeout_s=TEST_TIMEOUT_S)


def _java_command(exercise_dir: pathlib.Path) -> TestCommand:
  root = toolchains.toolchains_root()
  _require_tool("java", "javac")
  _require_tool("java", "java")
  lib = toolchains.java_lib_dir(root)
  toolchains.require("java", root, [lib / jar.file_name for jar in toolchains.JAVA_JARS])
  java_home = toolchains.java_home()
  assert java_home is not None  # javac was found above
  jars = shlex.quote(f"{lib}/*")  # the JVM expands `dir/*` to every jar in dir
  fast_jvm = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData"
  javac_jvm = " ".join(f"-J{flag}" for flag in fast_jvm.split())
  out = JAVA_BUILD_DIR
  script = "\n".join(
    [
      "set -e",
      f"rm -rf {out} && mkdir -p {out}/main {out}/test",
      # The cached jars are on every classpath: solutions may import them too (org.json, io.reactivex).
      f"javac {javac_jvm} -encoding UTF-8 -d {out}/main -cp {jars} $(find src/main/java -name '*.java')",
      f"javac {javac_jvm} -encoding UTF-8 -d {out}/test -cp {out}/main:{jars} $(find src/test/java -name '*.java')",
      f"exec java {fast_jvm} -cp {out}/main:{out}/test:src/main/resources:src/test/resources:{jars} "
      f"org.junit.platform.console.ConsoleLauncher "
      f"execute --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests "
      f"--scan-classpath {out}/test",
    ]
  )
  env = _base_env(exercise_dir, [java_home / "bin"])
  env["JAVA_HOME"] = str(java_home)
  return TestCommand(argv=["sh", "-c", script], env=env, timeout_s=TEST_TIMEOUT_S)


def _javascript_command(exercise_dir: pathlib.Path) -> TestCommand:
  root = toolchains.toolchains_root()
  node = _require_tool("javascript", "node")
  jest = toolchains.jest_script(root)
  toolchains.require("javascript", root, [jest])
  # `npm run test` runs `jest ./*`: every test file under the exercise. Running jest's script with node
  # directly does the same without npm's writable cache and log directory.
  argv = [
    str(node),
    str(jest),
    "--ci",
    "--watchman=false",
    f"--cacheDirectory={exercise_dir / '.jest-cache'}",
    f"--rootDir={exercise_dir}",
  ]
  env = _base_env(exercise_dir, [toolchains.real_dir(node)])
  return TestCommand(argv=argv, env=env, timeout_s=TEST_TIMEOUT_S)


def _python_command(exercise_dir: pathlib.Path) -> TestCommand:
  # `-c os.devnull` and `--rootdir`: no pytest configuration from directories above the exercise applies.
  argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(exercise_dir)]
  env = _base_env(exercise_dir, [pathlib.Path(sys.executable).parent])
  env["PYTHONDONTWRITEBYTECODE"] = "1"
  env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
  return TestCommand(argv=argv, env=env, timeout_s=TEST_TIMEOUT_S)


def _rust_command(exercise_dir: pathlib.Path) -> TestCommand:
  root = toolchains.toolchains_root()
  bin_dir = toolchains.rust_bin_dir()
  if bin_dir is None:
    raise toolchains.ToolchainMissingError(toolchains.missing_message("rust", root))
  toolchains.require(
    "rust",
    root,
    [toolchains.cargo_home(root) / "config.toml", toolchains.rust_vendor_dir(root) / "hrm-jax-vendor.json"],
  )
  env = {**_base_env(exercise_dir, [bin_dir]), **toolchains.rust_env(root, bin_dir)}
  return TestCommand(
    argv=[str(bin_dir / "cargo"), "test", "--offline", "--", "--include-ignored"], env=env, timeout_s=TEST_TIMEOUT_S
  )


_COMMANDS = {
  "cpp": _cpp_command,
  "go": _go_command,
  "java": _java_command,
  "javascript": _javascript_command,
  "python": _python_command,
  "rust": _rust_command,
}


def test_command(language: str, exercise_dir: pathlib.Path) -> TestCommand:
  """The command that runs the exercise's tests (after `prepare_exercise`); exit code 0 means all passed.

  Raises ToolchainMissingError, naming the fix, when the language's toolchain or offline cache is missing.
  """
  _check_language(language)
  return _COMMANDS[language](pathlib.Path(exercise_dir).absolute())


def _python_read_paths() -> list[pathlib.Path]:
  return [pathlib.Path(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}]


def toolchain_read_paths() -> list[pathlib.Path]:
  """Directories a sandboxed test run must be able to read (never write): caches, toolchains, system.

  The toolchains cache, the JDK, Node, Go and Rust installations, the Python prefixes, and the system
  directories the compilers and the dynamic loader use (/usr, /lib*, /etc/alternatives for cc/c++/java).
  Nested entries are folded into their parents; only existing paths are returned.
  """
  candidates: list[pathlib.Path] = [toolchains.toolchains_root()]
  java_home = toolchains.java_home()
  if java_home is not None:
    candidates.append(java_home)
  for tool in ("node", "go", "cmake"):
    found = toolchains.which(tool)
    if found is not None:
      candidates.append(toolchains.real_dir(found).parent)
  bin_dir = toolchains.rust_bin_dir()
  if bin_dir is not None:
    candidates.append(bin_dir.parent)
  candidates += _python_read_paths()
  candidates += [pathlib.Path(p) for p in ("/usr", "/lib", "/lib64", "/bin", "/etc/alternatives", "/etc/ld.so.cache")]
  resolved = sorted({p.resolve() for p in candidates if p.exists()}, key=lambda p: (len(p.parts), str(p)))
  kept: list[pathlib.Path] = []
  for path in resolved:
    if not any(path == parent or parent in path.parents for parent in kept):
      kept.append(path)
  return sorted(kept)


# Names that start with "test" are API here, not tests: pytest must not collect them where imported.
test_command.__test__ = False
test_files.__test__ = False
