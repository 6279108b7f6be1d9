"""Records the bundled tool-use trajectories by executing every tool call for real.

    python -m hrm_jax.data_pipelines.tool_use_sample_build --out data_pipelines/data/tool_use_sample.jsonl

Each task below lists its workspace files, its tool calls and its final answer (written for hrm-jax,
Apache-2.0). The builder creates the workspace in a temporary directory, runs the calls in order, stores
their real output and exit code, and refuses to write a trajectory whose answer does not appear in (or
follow from) the recorded output: `check` names the substring that must be present in the last result.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from hrm_jax.data_pipelines import tool_use

# (id, language, task, files, calls [(tool, args)], answer, text the last result must contain)
TASKS = [
  (
    "tu_001",
    "python",
    "What is the sum of the squares of the integers from 1 to 100?",
    {},
    [("python", {"code": "print(sum(i * i for i in range(1, 101)))"})],
    "338350",
    "338350",
  ),
  (
    "tu_002",
    "python",
    "How many lines does notes.txt have?",
    {"notes.txt": "alpha\nbeta\ngamma\ndelta\n"},
    [("shell", {"command": "wc -l < notes.txt"})],
    "notes.txt has 4 lines.",
    "4",
  ),
  (
    "tu_003",
    "python",
    "Which word occurs most often in words.txt?",
    {"words.txt": "red blue red green blue red\n"},
    [
      ("read_file", {"path": "words.txt"}),
      (
        "python",
        {"code": "from collections import Counter\nprint(Counter(open('words.txt').read().split()).most_common(1))"},
      ),
    ],
    "red (3 times).",
    "('red', 3)",
  ),
  (
    "tu_004",
    "python",
    "Is 97 a prime number?",
    {},
    [("python", {"code": "n = 97\nprint(all(n % d for d in range(2, int(n ** 0.5) + 1)))"})],
    "Yes, 97 is prime.",
    "True",
  ),
  (
    "tu_005",
    "python",
    "Write is_even(n) to even.py and check it on 0..5.",
    {},
    [
      ("write_file", {"path": "even.py", "content": "def is_even(n):\n    return n % 2 == 0\n"}),
      ("python", {"code": "from even import is_even\nprint([is_even(n) for n in range(6)])"}),
    ],
    "even.py defines is_even; on 0..5 it gives True, False, True, False, True, False.",
    "[True, False, True, False, True, False]",
  ),
  (
    "tu_006",
    "python",
    "The test in test_add.py fails. Fix add.py so it passes.",
    {
      "add.py": "def add(a, b):\n    return a - b\n",
      "test_add.py": "from add import add\nassert add(2, 3) == 5\nprint('ok')\n",
    },
    [
      ("python", {"code": "import runpy\nrunpy.run_path('test_add.py')"}),
      ("read_file", {"path": "add.py"}),
      ("write_file", {"path": "add.py", "content": "def add(a, b):\n    return a + b\n"}),
      ("shell", {"command": "python3 test_add.py"}),
    ],
    "add() subtracted instead of adding; it now returns a + b and test_add.py prints ok.",
    "ok",
  ),
  (
    "tu_007",
    "python",
    "What is 2 to the power 64?",
    {},
    [("python", {"code": "print(2 ** 64)"})],
    "18446744073709551616",
    "18446744073709551616",
  ),
  (
    "tu_008",
    "python",
    "How many .py files are in the src directory?",
    {"src/a.py": "", "src/b.py": "", "src/c.txt": "", "src/d.py": ""},
    [("shell", {"command": "ls src/*.py | wc -l"})],
    "3",
    "3",
  ),
  (
    "tu_009",
    "python",
    "What is the average of the numbers in data.csv's value column?",
    {"data.csv": "name,value\na,10\nb,20\nc,45\n"},
    [
      (
        "python",
        {
          "code": "import csv\nrows = list(csv.DictReader(open('data.csv')))\nprint(sum(float(r['value']) for r in rows) / len(rows))"
        },
      )
    ],
    "25.0",
    "25.0",
  ),
  (
    "tu_010",
    "python",
    "Reverse the lines of poem.txt into reversed.txt and show the result.",
    {"poem.txt": "one\ntwo\nthree\n"},
    [("shell", {"command": "tac poem.txt > reversed.txt && cat reversed.txt"})],
    "reversed.txt now reads three, two, one.",
    "three\ntwo\none",
  ),
  (
    "tu_011",
    "javascript",
    "What does [3, 1, 2].sort() return in JavaScript?",
    {},
    [("shell", {"command": "node -e 'console.log(JSON.stringify([3, 1, 2].sort()))'"})],
    "[1,2,3]",
    "[1,2,3]",
  ),
  (
    "tu_012",
    "javascript",
    "In JavaScript, what is [10, 9, 1].sort() (default sort)?",
    {},
    [("shell", {"command": "node -e 'console.log(JSON.stringify([10, 9, 1].sort()))'"})],
    "[1,10,9]: the default sort compares strings.",
    "[1,10,9]",
  ),
  (
    "tu_013",
    "go",
    "Does hello.go compile and what does it print?",
    {"hello.go": 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hello", 6*7)\n}\n'},
    [("shell", {"command": "go run hello.go"})],
    "It compiles and prints: hello 42",
    "hello 42",
  ),
  (
    "tu_014",
    "rust",
    "What does this Rust program print? main.rs",
    {"main.rs": 'fn main() {\n    let v: Vec<u32> = (1..=5).map(|x| x * x).collect();\n    println!("{:?}", v);\n}\n'},
    [("shell", {"command": "rustc -o main main.rs && ./main"})],
    "[1, 4, 9, 16, 25]",
    "[1, 4, 9, 16, 25]",
  ),
  (
    "tu_015",
    "cpp",
    "Compile sum.cpp and report what it prints.",
    {
      "sum.cpp": "#include <iostream>\nint main() {\n  long s = 0;\n  for (int i = 1; i <= 1000; ++i) s += i;\n  std::cout << s << std::endl;\n}\n"
    },
    [("shell", {"command": "g++ -O0 -o sum sum.cpp && ./sum"})],
    "500500",
    "500500",
  ),
  (
    "tu_016",
    "java",
    "What does Main.java print?",
    {
      "Main.java": 'public class Main {\n  public static void main(String[] a) {\n    System.out.println(String.join("-", "a", "b", "c"));\n  }\n}\n'
    },
    [("shell", {"command": "java Main.java"})],
    "a-b-c",
    "a-b-c",
  ),
  (
    "tu_017",
    "python",
    "Find the line number of the definition of parse in tool.py.",
    {"tool.py": "import sys\n\n\ndef helper():\n    pass\n\n\ndef parse(text):\n    return text.split()\n"},
    [("shell", {"command": "grep -n 'def parse' tool.py"})],
    "Line 8.",
    "8:def parse",
  ),
  (
    "tu_018",
    "python",
    "Count the words in story.txt, then save the count to count.txt.",
    {"story.txt": "the cat sat on the mat\nand the dog sat too\n"},
    [
      ("shell", {"command": "wc -w < story.txt"}),
      ("write_file", {"path": "count.txt", "content": "11\n"}),
      ("read_file", {"path": "count.txt"}),
    ],
    "story.txt has 11 words; count.txt holds 11.",
    "11",
  ),
  (
    "tu_019",
    "python",
    "What is the 30th Fibonacci number (F1 = F2 = 1)?",
    {},
    [("python", {"code": "a, b = 1, 1\nfor _ in range(28):\n    a, b = b, a + b\nprint(b)"})],
    "832040",
    "832040",
  ),
  (
    "tu_020",
    "python",
    "Why does crash.py fail, and what is the fix?",
    {"crash.py": "items = [1, 2, 3]\nprint(items[3])\n"},
    [
      ("shell", {"command": "python3 crash.py"}),
      ("write_file", {"path": "crash.py", "content": "items = [1, 2, 3]\nprint(items[-1])\n"}),
      ("shell", {"command": "python3 crash.py"}),
    ],
    "items[3] is out of range (the list has indices 0..2); printing items[-1] fixes it and prints 3.",
    "3",
  ),
  (
    "tu_021",
    "python",
    "Which of the numbers in nums.txt are divisible by 7?",
    {"nums.txt": "14 15 21 30 49 50\n"},
    [("python", {"code": "print([n for n in map(int, open('nums.txt').read().split()) if n % 7 == 0])"})],
    "14, 21 and 49.",
    "[14, 21, 49]",
  ),
  (
    "tu_022",
    "python",
    "Sort the names in names.txt alphabetically and write them to sorted.txt.",
    {"names.txt": "mallory\nalice\nbob\n"},
    [("shell", {"command": "sort names.txt > sorted.txt && cat sorted.txt"})],
    "sorted.txt: alice, bob, mallory.",
    "alice\nbob\nmallory",
  ),
]


def _run(call: tuple[str, dict], workdir: str) -> tuple[str, int]:
  tool, args = call
  if tool == "read_file":
    with open(os.path.join(workdir, args["path"])) as f:
      return f.read(), 0
  if tool == "write_file":
    path = os.path.join(workdir, args["path"])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
      f.write(args["content"])
    return f"wrote {len(args['content'].encode())} bytes to {args['path']}\n", 0
  argv = ["python3", "-c", args["code"]] if tool == "python" else ["bash", "-c", args["command"]]
  proc = subprocess.run(
    argv, cwd=workdir, capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
  )
  output = (proc.stdout + proc.stderr).replace(workdir + os.sep, "").replace(workdir, ".")
  return output, proc.returncode


def record(task) -> dict:
  tid, language, text, files, calls, answer, check = task
  steps = []
  with tempfile.TemporaryDirectory(prefix="hrm_tool_") as workdir:
    for path, content in files.items():
      full = os.path.join(workdir, path)
      os.makedirs(os.path.dirname(full), exist_ok=True)
      with open(full, "w") as f:
        f.write(content)
    for call in calls:
      output, code = _run(call, workdir)
      steps.append({"call": {"tool": call[0], "args": call[1]}, "result": {"output": output, "exit_code": code}})
  if check not in steps[-1]["result"]["output"]:
    raise ValueError(f"{tid}: the last result does not contain {check!r}: {steps[-1]['result']['output']!r}")
  obj = {"id": tid, "language": language, "task": text, "files": files, "steps": steps, "answer": answer}
  tool_use.parse_trajectory(obj)
  return obj


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--out", required=True)
  args = parser.parse_args(argv)
  with open(args.out, "w") as f:
    for task in TASKS:
      f.write(json.dumps(record(task), sort_keys=True) + "\n")
  print(f"wrote {len(TASKS)} trajectories to {args.out}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
