"""The bundled LiveCodeBench-format problems, written for hrm-jax (Apache-2.0, like the rest of the project).

Each problem has a statement, a Python reference solution, hand-checked public examples, and a seeded
generator of private-test inputs whose expected outputs come from the reference solution. Build the JSONL
(`data_pipelines/data/livecodebench_sample.jsonl`) with

    python -m hrm_jax.data_pipelines.lcb_sample_build --out data_pipelines/data/livecodebench_sample.jsonl

Stdin problems read standard input and print; functional problems are LeetCode-style `class Solution`
methods called with JSON arguments (reference/benchmarks.md, section B2).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class SampleProblem:
  qid: str
  title: str
  difficulty: str  # easy | medium
  date: str  # contest_date, YYYY-MM-DD
  content: str
  solution: str
  public: tuple[tuple[str, str], ...]  # stdin: (input, output); functional: (JSON lines, JSON value)
  gen: Callable[[random.Random], object]  # stdin: input text; functional: list of arguments
  func_name: str = ""  # non-empty: functional
  starter: str = ""


def _ints(rng, n, lo, hi):
  return [rng.randint(lo, hi) for _ in range(n)]


def _line(xs):
  return " ".join(map(str, xs))


def _word(rng, lo=1, hi=8, alphabet="abcdefghijklmnopqrstuvwxyz"):
  return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _two_sum_case(r: random.Random) -> list:
  xs = r.sample(range(-50, 50), r.randint(2, 8))
  i, j = sorted(r.sample(range(len(xs)), 2))
  target = xs[i] + xs[j]
  # Keep exactly one answer: drop inputs where another pair also sums to target.
  pairs = [(a, b) for a in range(len(xs)) for b in range(a + 1, len(xs)) if xs[a] + xs[b] == target]
  return [xs, target] if len(pairs) == 1 else _two_sum_case(r)


def _missing_case(r: random.Random, n: int) -> list:
  gone = r.randint(0, n)
  return [r.sample([x for x in range(n + 1) if x != gone], n)]


def _to_roman(n: int) -> str:
  out = []
  for value, sym in (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
  ):
    while n >= value:
      out.append(sym)
      n -= value
  return "".join(out)


STDIN: list[SampleProblem] = [
  SampleProblem(
    "hj_s001",
    "Sum of Two",
    "easy",
    "2023-06-03",
    "You are given two integers A and B. Print A + B.\n\nInput\nA B on one line (-10^9 <= A, B <= 10^9).\n\n"
    "Output\nPrint the sum.",
    "a, b = map(int, input().split())\nprint(a + b)\n",
    (("3 5\n", "8\n"), ("-4 4\n", "0\n")),
    lambda r: f"{r.randint(-(10**9), 10**9)} {r.randint(-(10**9), 10**9)}\n",
  ),
  SampleProblem(
    "hj_s002",
    "Maximum of a List",
    "easy",
    "2023-06-10",
    "Given N integers, print the largest of them.\n\nInput\nN on the first line, then N integers on the second "
    "line (1 <= N <= 100, |a_i| <= 1000).\n\nOutput\nThe maximum.",
    "n = int(input())\na = list(map(int, input().split()))\nprint(max(a))\n",
    (("3\n1 9 4\n", "9\n"), ("2\n-5 -7\n", "-5\n")),
    lambda r: (lambda xs: f"{len(xs)}\n{_line(xs)}\n")(_ints(r, r.randint(1, 12), -1000, 1000)),
  ),
  SampleProblem(
    "hj_s003",
    "Count Vowels",
    "easy",
    "2023-06-17",
    "Given a lowercase string S, print how many of its characters are vowels (a, e, i, o, u).\n\nInput\nS "
    "(1 <= |S| <= 100).\n\nOutput\nThe number of vowels.",
    "s = input().strip()\nprint(sum(c in 'aeiou' for c in s))\n",
    (("banana\n", "3\n"), ("rhythm\n", "0\n")),
    lambda r: _word(r, 1, 20) + "\n",
  ),
  SampleProblem(
    "hj_s004",
    "Reverse Words",
    "easy",
    "2023-06-24",
    "Given a line of words separated by single spaces, print the words in reverse order, separated by single "
    "spaces.\n\nInput\nOne line with 1 to 20 lowercase words.\n\nOutput\nThe words in reverse order.",
    "print(' '.join(input().split()[::-1]))\n",
    (("the quick fox\n", "fox quick the\n"), ("solo\n", "solo\n")),
    lambda r: " ".join(_word(r, 1, 6) for _ in range(r.randint(1, 8))) + "\n",
  ),
  SampleProblem(
    "hj_s005",
    "Even Count",
    "easy",
    "2023-07-01",
    "Given N integers, print how many of them are even.\n\nInput\nN, then N integers on the next line "
    "(1 <= N <= 100, 0 <= a_i <= 10^6).\n\nOutput\nThe count of even numbers.",
    "n = int(input())\nprint(sum(1 for x in map(int, input().split()) if x % 2 == 0))\n",
    (("4\n1 2 3 4\n", "2\n"), ("1\n7\n", "0\n")),
    lambda r: (lambda xs: f"{len(xs)}\n{_line(xs)}\n")(_ints(r, r.randint(1, 15), 0, 10**6)),
  ),
  SampleProblem(
    "hj_s006",
    "FizzBuzz Line",
    "easy",
    "2023-07-08",
    "Print the numbers 1..N on one line separated by spaces, but print Fizz for multiples of 3, Buzz for "
    "multiples of 5 and FizzBuzz for multiples of both.\n\nInput\nN (1 <= N <= 100).\n\nOutput\nOne line.",
    "n = int(input())\nout = []\nfor i in range(1, n + 1):\n    if i % 15 == 0:\n        out.append('FizzBuzz')\n"
    "    elif i % 3 == 0:\n        out.append('Fizz')\n    elif i % 5 == 0:\n        out.append('Buzz')\n"
    "    else:\n        out.append(str(i))\nprint(' '.join(out))\n",
    (("5\n", "1 2 Fizz 4 Buzz\n"), ("1\n", "1\n")),
    lambda r: f"{r.randint(1, 40)}\n",
  ),
  SampleProblem(
    "hj_s007",
    "Digit Sum",
    "easy",
    "2023-07-15",
    "Print the sum of the decimal digits of a non-negative integer N.\n\nInput\nN (0 <= N <= 10^18).\n\n"
    "Output\nThe digit sum.",
    "print(sum(int(c) for c in input().strip()))\n",
    (("1234\n", "10\n"), ("0\n", "0\n")),
    lambda r: f"{r.randint(0, 10**18)}\n",
  ),
  SampleProblem(
    "hj_s008",
    "Palindrome Check",
    "easy",
    "2023-07-22",
    "Print Yes if the lowercase string S reads the same backwards, otherwise No.\n\nInput\nS (1 <= |S| <= 100)."
    "\n\nOutput\nYes or No.",
    "s = input().strip()\nprint('Yes' if s == s[::-1] else 'No')\n",
    (("level\n", "Yes\n"), ("ab\n", "No\n")),
    lambda r: (lambda w: (w + w[::-1][r.randint(0, 1) :] if r.random() < 0.5 else w) + "\n")(_word(r, 1, 6, "ab")),
  ),
  SampleProblem(
    "hj_s009",
    "Running Total",
    "easy",
    "2023-07-29",
    "Given N integers, print their prefix sums on one line.\n\nInput\nN, then N integers (1 <= N <= 100, "
    "|a_i| <= 1000).\n\nOutput\nThe N prefix sums separated by spaces.",
    "n = int(input())\ns = 0\nout = []\nfor x in map(int, input().split()):\n    s += x\n    out.append(s)\n"
    "print(*out)\n",
    (("3\n1 2 3\n", "1 3 6\n"), ("2\n5 -5\n", "5 0\n")),
    lambda r: (lambda xs: f"{len(xs)}\n{_line(xs)}\n")(_ints(r, r.randint(1, 10), -1000, 1000)),
  ),
  SampleProblem(
    "hj_s010",
    "Grade Letter",
    "easy",
    "2023-08-05",
    "Given a score 0..100, print A for 90 or more, B for 80-89, C for 70-79, D for 60-69 and F otherwise.\n\n"
    "Input\nThe score.\n\nOutput\nThe letter.",
    "x = int(input())\nprint('A' if x >= 90 else 'B' if x >= 80 else 'C' if x >= 70 else 'D' if x >= 60 else 'F')\n",
    (("95\n", "A\n"), ("59\n", "F\n")),
    lambda r: f"{r.randint(0, 100)}\n",
  ),
  SampleProblem(
    "hj_s011",
    "Distinct Values",
    "easy",
    "2023-08-12",
    "Print the number of distinct values among N integers.\n\nInput\nN, then N integers (1 <= N <= 100, "
    "0 <= a_i <= 20).\n\nOutput\nThe number of distinct values.",
    "input()\nprint(len(set(input().split())))\n",
    (("5\n1 2 2 3 1\n", "3\n"), ("1\n0\n", "1\n")),
    lambda r: (lambda xs: f"{len(xs)}\n{_line(xs)}\n")(_ints(r, r.randint(1, 20), 0, 20)),
  ),
  SampleProblem(
    "hj_s012",
    "Triangle Test",
    "easy",
    "2023-08-19",
    "Given three positive side lengths a, b, c, print Yes if they form a non-degenerate triangle, otherwise "
    "No.\n\nInput\na b c (1 <= a, b, c <= 100).\n\nOutput\nYes or No.",
    "a, b, c = sorted(map(int, input().split()))\nprint('Yes' if a + b > c else 'No')\n",
    (("3 4 5\n", "Yes\n"), ("1 2 3\n", "No\n")),
    lambda r: _line(_ints(r, 3, 1, 20)) + "\n",
  ),
  SampleProblem(
    "hj_s013",
    "Character Frequency",
    "medium",
    "2023-09-02",
    "Given a lowercase string S, print each letter that occurs in S with its count, in alphabetical order, one "
    "`letter count` pair per line.\n\nInput\nS (1 <= |S| <= 1000).\n\nOutput\nThe pairs.",
    "from collections import Counter\nc = Counter(input().strip())\nfor k in sorted(c):\n    print(k, c[k])\n",
    (("banana\n", "a 3\nb 1\nn 2\n"), ("z\n", "z 1\n")),
    lambda r: _word(r, 1, 25, "abcde") + "\n",
  ),
  SampleProblem(
    "hj_s014",
    "Second Largest",
    "medium",
    "2023-09-09",
    "Given N integers, print the second largest distinct value, or -1 if all values are equal.\n\nInput\nN, then "
    "N integers (1 <= N <= 100, 0 <= a_i <= 1000).\n\nOutput\nThe answer.",
    "input()\nv = sorted(set(map(int, input().split())))\nprint(v[-2] if len(v) > 1 else -1)\n",
    (("4\n3 1 3 2\n", "2\n"), ("3\n7 7 7\n", "-1\n")),
    lambda r: (lambda xs: f"{len(xs)}\n{_line(xs)}\n")(_ints(r, r.randint(1, 10), 0, 6)),
  ),
  SampleProblem(
    "hj_s015",
    "Matrix Transpose",
    "medium",
    "2023-09-16",
    "Given an R x C matrix, print its transpose.\n\nInput\nR C, then R lines of C integers (1 <= R, C <= 10).\n\n"
    "Output\nC lines of R integers.",
    "r, c = map(int, input().split())\nm = [input().split() for _ in range(r)]\nfor j in range(c):\n"
    "    print(' '.join(m[i][j] for i in range(r)))\n",
    (("2 3\n1 2 3\n4 5 6\n", "1 4\n2 5\n3 6\n"), ("1 1\n9\n", "9\n")),
    lambda r: (lambda R, C: f"{R} {C}\n" + "".join(_line(_ints(r, C, 0, 99)) + "\n" for _ in range(R)))(
      r.randint(1, 4), r.randint(1, 4)
    ),
  ),
  SampleProblem(
    "hj_s016",
    "Longest Run",
    "medium",
    "2023-09-23",
    "Print the length of the longest block of equal consecutive characters in S.\n\nInput\nS (1 <= |S| <= 1000)."
    "\n\nOutput\nThe length.",
    "s = input().strip()\nbest = cur = 1\nfor i in range(1, len(s)):\n    cur = cur + 1 if s[i] == s[i - 1] else 1\n"
    "    best = max(best, cur)\nprint(best)\n",
    (("aabbbc\n", "3\n"), ("x\n", "1\n")),
    lambda r: _word(r, 1, 20, "ab") + "\n",
  ),
  SampleProblem(
    "hj_s017",
    "Binary Representation",
    "easy",
    "2023-10-07",
    "Print the binary representation of a non-negative integer N without leading zeros (0 prints 0).\n\nInput\n"
    "N (0 <= N <= 10^9).\n\nOutput\nThe binary string.",
    "print(bin(int(input()))[2:])\n",
    (("5\n", "101\n"), ("0\n", "0\n")),
    lambda r: f"{r.randint(0, 10**9)}\n",
  ),
  SampleProblem(
    "hj_s018",
    "GCD of List",
    "easy",
    "2023-10-14",
    "Print the greatest common divisor of N positive integers.\n\nInput\nN, then N integers (1 <= N <= 100, "
    "1 <= a_i <= 10^9).\n\nOutput\nThe gcd.",
    "from math import gcd\nfrom functools import reduce\ninput()\nprint(reduce(gcd, map(int, input().split())))\n",
    (("3\n12 18 24\n", "6\n"), ("1\n7\n", "7\n")),
    lambda r: (lambda g, xs: f"{len(xs)}\n{_line([g * x for x in xs])}\n")(
      r.randint(1, 30), _ints(r, r.randint(1, 6), 1, 50)
    ),
  ),
  SampleProblem(
    "hj_s019",
    "Caesar Shift",
    "medium",
    "2023-10-21",
    "Shift every letter of a lowercase string S forward by K positions in the alphabet, wrapping from z to a.\n\n"
    "Input\nK on the first line (0 <= K <= 100), S on the second.\n\nOutput\nThe shifted string.",
    "k = int(input())\ns = input().strip()\nprint(''.join(chr((ord(c) - 97 + k) % 26 + 97) for c in s))\n",
    (("1\nabz\n", "bca\n"), ("26\nhello\n", "hello\n")),
    lambda r: f"{r.randint(0, 100)}\n{_word(r, 1, 12)}\n",
  ),
  SampleProblem(
    "hj_s020",
    "Staircase Count",
    "medium",
    "2023-10-28",
    "Count the ways to climb N stairs taking 1 or 2 steps at a time.\n\nInput\nN (1 <= N <= 80).\n\nOutput\nThe "
    "number of ways.",
    "n = int(input())\na, b = 1, 1\nfor _ in range(n):\n    a, b = b, a + b\nprint(a)\n",
    (("3\n", "3\n"), ("1\n", "1\n")),
    lambda r: f"{r.randint(1, 80)}\n",
  ),
  SampleProblem(
    "hj_s021",
    "Balanced Brackets",
    "medium",
    "2023-11-04",
    "Print Yes if the string of brackets ()[]{} is balanced, otherwise No.\n\nInput\nS (1 <= |S| <= 1000).\n\n"
    "Output\nYes or No.",
    "s = input().strip()\npairs = {')': '(', ']': '[', '}': '{'}\nst = []\nok = True\nfor c in s:\n"
    "    if c in '([{':\n        st.append(c)\n    elif not st or st.pop() != pairs[c]:\n        ok = False\n"
    "        break\nprint('Yes' if ok and not st else 'No')\n",
    (("([]{})\n", "Yes\n"), ("(]\n", "No\n")),
    lambda r: _word(r, 1, 10, "()[]") + "\n",
  ),
  SampleProblem(
    "hj_s022",
    "Interval Coverage",
    "medium",
    "2023-11-11",
    "Given N closed integer intervals [l, r], print how many integers are covered by at least one interval.\n\n"
    "Input\nN, then N lines `l r` (1 <= N <= 100, 0 <= l <= r <= 1000).\n\nOutput\nThe count.",
    "n = int(input())\ncov = set()\nfor _ in range(n):\n    l, r = map(int, input().split())\n"
    "    cov.update(range(l, r + 1))\nprint(len(cov))\n",
    (("2\n1 3\n2 5\n", "5\n"), ("1\n4 4\n", "1\n")),
    lambda r: (
      lambda n: (
        f"{n}\n"
        + "".join((lambda a, b: f"{min(a, b)} {max(a, b)}\n")(r.randint(0, 60), r.randint(0, 60)) for _ in range(n))
      )
    )(r.randint(1, 5)),
  ),
  SampleProblem(
    "hj_s023",
    "Minimum Coins",
    "medium",
    "2023-11-18",
    "Using coins of values 1, 5, 10 and 25, print the minimum number of coins that sum to N.\n\nInput\nN "
    "(0 <= N <= 10^6).\n\nOutput\nThe number of coins.",
    "n = int(input())\ncount = 0\nfor c in (25, 10, 5, 1):\n    count += n // c\n    n %= c\nprint(count)\n",
    (("30\n", "2\n"), ("0\n", "0\n")),
    lambda r: f"{r.randint(0, 10**6)}\n",
  ),
  SampleProblem(
    "hj_s024",
    "Word Lengths",
    "easy",
    "2023-12-02",
    "Print the length of each word of a line, separated by spaces.\n\nInput\nOne line of 1 to 20 words.\n\n"
    "Output\nThe lengths.",
    "print(*[len(w) for w in input().split()])\n",
    (("hi there you\n", "2 5 3\n"), ("a\n", "1\n")),
    lambda r: " ".join(_word(r, 1, 7) for _ in range(r.randint(1, 6))) + "\n",
  ),
  SampleProblem(
    "hj_s025",
    "Sorted Merge",
    "medium",
    "2023-12-09",
    "Given two sorted lists, print their merge in sorted order.\n\nInput\nN, then N sorted integers; M, then M "
    "sorted integers (1 <= N, M <= 100).\n\nOutput\nThe N + M merged integers.",
    "input()\na = list(map(int, input().split()))\ninput()\nb = list(map(int, input().split()))\n"
    "print(*sorted(a + b))\n",
    (("2\n1 4\n3\n2 3 5\n", "1 2 3 4 5\n"), ("1\n0\n1\n0\n", "0 0\n")),
    lambda r: (lambda a, b: f"{len(a)}\n{_line(a)}\n{len(b)}\n{_line(b)}\n")(
      sorted(_ints(r, r.randint(1, 5), -20, 20)), sorted(_ints(r, r.randint(1, 5), -20, 20))
    ),
  ),
  SampleProblem(
    "hj_s026",
    "Prime Test",
    "easy",
    "2024-01-06",
    "Print Yes if N is prime, otherwise No.\n\nInput\nN (1 <= N <= 10^9).\n\nOutput\nYes or No.",
    "n = int(input())\nok = n > 1\ni = 2\nwhile i * i <= n and ok:\n    if n % i == 0:\n        ok = False\n    i += 1\n"
    "print('Yes' if ok else 'No')\n",
    (("7\n", "Yes\n"), ("1\n", "No\n")),
    lambda r: f"{r.choice([r.randint(1, 200), r.randint(1, 10**9)])}\n",
  ),
  SampleProblem(
    "hj_s027",
    "Grid Path Count",
    "medium",
    "2024-01-13",
    "Count the monotone paths from the top-left to the bottom-right corner of an H x W grid of cells, moving "
    "only right or down, that avoid blocked cells (#). Print the count modulo 10^9+7.\n\nInput\nH W, then H rows "
    "of . and # (1 <= H, W <= 50; the corners are free).\n\nOutput\nThe count.",
    "h, w = map(int, input().split())\ng = [input().strip() for _ in range(h)]\nM = 10**9 + 7\ndp = [[0] * w for _ in range(h)]\n"
    "for i in range(h):\n    for j in range(w):\n        if g[i][j] == '#':\n            continue\n"
    "        if i == 0 and j == 0:\n            dp[i][j] = 1\n            continue\n"
    "        dp[i][j] = ((dp[i - 1][j] if i else 0) + (dp[i][j - 1] if j else 0)) % M\nprint(dp[h - 1][w - 1])\n",
    (("2 2\n..\n..\n", "2\n"), ("2 3\n.#.\n...\n", "1\n")),
    lambda r: (
      lambda H, W: (
        f"{H} {W}\n"
        + "".join(
          "".join("." if (i, j) in ((0, 0), (H - 1, W - 1)) or r.random() < 0.8 else "#" for j in range(W)) + "\n"
          for i in range(H)
        )
      )
    )(r.randint(1, 6), r.randint(1, 6)),
  ),
  SampleProblem(
    "hj_s028",
    "Anagram Pair",
    "easy",
    "2024-01-20",
    "Print Yes if the two lowercase words are anagrams of each other, otherwise No.\n\nInput\nTwo words on one "
    "line.\n\nOutput\nYes or No.",
    "a, b = input().split()\nprint('Yes' if sorted(a) == sorted(b) else 'No')\n",
    (("listen silent\n", "Yes\n"), ("ab abb\n", "No\n")),
    lambda r: (lambda w: f"{w} {''.join(r.sample(w, len(w))) if r.random() < 0.5 else _word(r, 1, 5, 'abc')}\n")(
      _word(r, 1, 5, "abc")
    ),
  ),
  SampleProblem(
    "hj_s029",
    "Bit Count Sort",
    "medium",
    "2024-02-03",
    "Sort N non-negative integers by the number of 1 bits in their binary form, breaking ties by value.\n\n"
    "Input\nN, then N integers (1 <= N <= 100, 0 <= a_i <= 10^4).\n\nOutput\nThe sorted integers.",
    "input()\na = list(map(int, input().split()))\nprint(*sorted(a, key=lambda x: (bin(x).count('1'), x)))\n",
    (("4\n3 4 7 1\n", "1 4 3 7\n"), ("1\n0\n", "0\n")),
    lambda r: (lambda xs: f"{len(xs)}\n{_line(xs)}\n")(_ints(r, r.randint(1, 10), 0, 64)),
  ),
  SampleProblem(
    "hj_s030",
    "Queue Simulation",
    "medium",
    "2024-02-10",
    "Process Q queries on an initially empty queue: `push x` appends x, `pop` removes the front and prints it "
    "(or prints EMPTY if the queue is empty).\n\nInput\nQ, then Q queries (1 <= Q <= 1000).\n\nOutput\nOne line "
    "per pop.",
    "from collections import deque\nq = deque()\nfor _ in range(int(input())):\n    parts = input().split()\n"
    "    if parts[0] == 'push':\n        q.append(parts[1])\n    else:\n        print(q.popleft() if q else 'EMPTY')\n",
    (("4\npush 1\npush 2\npop\npop\n", "1\n2\n"), ("1\npop\n", "EMPTY\n")),
    lambda r: (lambda qs: f"{len(qs)}\n" + "".join(x + "\n" for x in qs))(
      [f"push {r.randint(0, 99)}" if r.random() < 0.6 else "pop" for _ in range(r.randint(1, 10))] + ["pop"]
    ),
  ),
]

FUNCTIONAL: list[SampleProblem] = [
  SampleProblem(
    "hj_f001",
    "two-sum-indices",
    "easy",
    "2024-02-17",
    "Given an integer array nums and an integer target, return the indices [i, j] (i < j) of the two numbers "
    "that add up to target. Exactly one answer exists.\n\nExample: nums = [2,7,11,15], target = 9 -> [0,1].",
    "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        seen = {}\n"
    "        for i, x in enumerate(nums):\n            if target - x in seen:\n                return [seen[target - x], i]\n"
    "            seen[x] = i\n        return []\n",
    (("[2, 7, 11, 15]\n9", "[0, 1]"), ("[3, 3]\n6", "[0, 1]")),
    _two_sum_case,
    "twoSum",
    "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ",
  ),
  SampleProblem(
    "hj_f002",
    "count-positive",
    "easy",
    "2024-02-24",
    "Return how many elements of nums are strictly positive.\n\nExample: nums = [-1, 0, 3, 5] -> 2.",
    "class Solution:\n    def countPositive(self, nums: List[int]) -> int:\n        return sum(1 for x in nums if x > 0)\n",
    (("[-1, 0, 3, 5]", "2"), ("[]", "0")),
    lambda r: [_ints(r, r.randint(0, 10), -9, 9)],
    "countPositive",
    "class Solution:\n    def countPositive(self, nums: List[int]) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f003",
    "reverse-string",
    "easy",
    "2024-03-02",
    'Return the string s reversed.\n\nExample: s = "abc" -> "cba".',
    "class Solution:\n    def reverseString(self, s: str) -> str:\n        return s[::-1]\n",
    (('"abc"', '"cba"'), ('"a"', '"a"')),
    lambda r: [_word(r, 1, 10)],
    "reverseString",
    "class Solution:\n    def reverseString(self, s: str) -> str:\n        ",
  ),
  SampleProblem(
    "hj_f004",
    "max-subarray-sum",
    "medium",
    "2024-03-09",
    "Return the largest sum of a non-empty contiguous subarray of nums.\n\nExample: nums = [-2,1,-3,4,-1,2,1,-5,4] "
    "-> 6.",
    "class Solution:\n    def maxSubArray(self, nums: List[int]) -> int:\n        best = cur = nums[0]\n"
    "        for x in nums[1:]:\n            cur = max(x, cur + x)\n            best = max(best, cur)\n        return best\n",
    (("[-2, 1, -3, 4, -1, 2, 1, -5, 4]", "6"), ("[-3]", "-3")),
    lambda r: [_ints(r, r.randint(1, 10), -10, 10)],
    "maxSubArray",
    "class Solution:\n    def maxSubArray(self, nums: List[int]) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f005",
    "is-anagram",
    "easy",
    "2024-03-16",
    'Return true if t is an anagram of s.\n\nExample: s = "anagram", t = "nagaram" -> true.',
    "class Solution:\n    def isAnagram(self, s: str, t: str) -> bool:\n        return sorted(s) == sorted(t)\n",
    (('"anagram"\n"nagaram"', "true"), ('"rat"\n"car"', "false")),
    lambda r: (lambda w: [w, "".join(r.sample(w, len(w))) if r.random() < 0.5 else _word(r, 1, 5, "abc")])(
      _word(r, 1, 5, "abc")
    ),
    "isAnagram",
    "class Solution:\n    def isAnagram(self, s: str, t: str) -> bool:\n        ",
  ),
  SampleProblem(
    "hj_f006",
    "single-number",
    "easy",
    "2024-03-23",
    "Every element of nums appears twice except one. Return that one.\n\nExample: nums = [4,1,2,1,2] -> 4.",
    "class Solution:\n    def singleNumber(self, nums: List[int]) -> int:\n        x = 0\n        for v in nums:\n"
    "            x ^= v\n        return x\n",
    (("[4, 1, 2, 1, 2]", "4"), ("[1]", "1")),
    lambda r: (lambda xs: [r.sample(xs + xs[1:], 2 * len(xs) - 1)])(r.sample(range(0, 100), r.randint(1, 5))),
    "singleNumber",
    "class Solution:\n    def singleNumber(self, nums: List[int]) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f007",
    "climb-stairs-cost",
    "medium",
    "2024-04-06",
    "cost[i] is the cost of stepping on stair i. Starting from stair 0 or 1 and moving 1 or 2 stairs at a time, "
    "return the minimum cost to reach the top (just past the last stair).\n\nExample: cost = [10,15,20] -> 15.",
    "class Solution:\n    def minCostClimbingStairs(self, cost: List[int]) -> int:\n        a = b = 0\n"
    "        for i in range(2, len(cost) + 1):\n            a, b = b, min(b + cost[i - 1], a + cost[i - 2])\n"
    "        return b\n",
    (("[10, 15, 20]", "15"), ("[1, 100, 1, 1, 1, 100, 1, 1, 100, 1]", "6")),
    lambda r: [_ints(r, r.randint(2, 10), 0, 50)],
    "minCostClimbingStairs",
    "class Solution:\n    def minCostClimbingStairs(self, cost: List[int]) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f008",
    "valid-parentheses",
    "easy",
    "2024-04-13",
    'Return true if the bracket string s (characters ()[]{}) is balanced.\n\nExample: s = "()[]{}" -> true.',
    "class Solution:\n    def isValid(self, s: str) -> bool:\n        pairs = {')': '(', ']': '[', '}': '{'}\n"
    "        st = []\n        for c in s:\n            if c in pairs:\n                if not st or st.pop() != pairs[c]:\n"
    "                    return False\n            else:\n                st.append(c)\n        return not st\n",
    (('"()[]{}"', "true"), ('"(]"', "false")),
    lambda r: [_word(r, 1, 8, "(){}")],
    "isValid",
    "class Solution:\n    def isValid(self, s: str) -> bool:\n        ",
  ),
  SampleProblem(
    "hj_f009",
    "missing-number",
    "easy",
    "2024-04-20",
    "nums holds n distinct numbers from 0..n. Return the one that is missing.\n\nExample: nums = [3,0,1] -> 2.",
    "class Solution:\n    def missingNumber(self, nums: List[int]) -> int:\n        n = len(nums)\n"
    "        return n * (n + 1) // 2 - sum(nums)\n",
    (("[3, 0, 1]", "2"), ("[0]", "1")),
    lambda r: _missing_case(r, r.randint(1, 9)),
    "missingNumber",
    "class Solution:\n    def missingNumber(self, nums: List[int]) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f010",
    "longest-common-prefix",
    "easy",
    "2024-05-04",
    'Return the longest common prefix of all strings in strs ("" if none).\n\nExample: strs = '
    '["flower","flow","flight"] -> "fl".',
    "class Solution:\n    def longestCommonPrefix(self, strs: List[str]) -> str:\n        p = strs[0]\n"
    "        for s in strs[1:]:\n            while not s.startswith(p):\n                p = p[:-1]\n        return p\n",
    (('["flower", "flow", "flight"]', '"fl"'), ('["dog", "car"]', '""')),
    lambda r: (lambda p: [[p + _word(r, 0, 3, "ab") for _ in range(r.randint(1, 4))]])(_word(r, 0, 3, "ab")),
    "longestCommonPrefix",
    "class Solution:\n    def longestCommonPrefix(self, strs: List[str]) -> str:\n        ",
  ),
  SampleProblem(
    "hj_f011",
    "merge-intervals",
    "medium",
    "2024-05-11",
    "Merge all overlapping closed intervals and return them sorted by start.\n\nExample: intervals = "
    "[[1,3],[2,6],[8,10]] -> [[1,6],[8,10]].",
    "class Solution:\n    def merge(self, intervals: List[List[int]]) -> List[List[int]]:\n        out = []\n"
    "        for s, e in sorted(intervals):\n            if out and s <= out[-1][1]:\n"
    "                out[-1][1] = max(out[-1][1], e)\n            else:\n                out.append([s, e])\n"
    "        return out\n",
    (("[[1, 3], [2, 6], [8, 10]]", "[[1, 6], [8, 10]]"), ("[[1, 4], [4, 5]]", "[[1, 5]]")),
    lambda r: [[sorted(_ints(r, 2, 0, 20)) for _ in range(r.randint(1, 5))]],
    "merge",
    "class Solution:\n    def merge(self, intervals: List[List[int]]) -> List[List[int]]:\n        ",
  ),
  SampleProblem(
    "hj_f012",
    "rotate-array",
    "medium",
    "2024-05-18",
    "Return nums rotated to the right by k steps.\n\nExample: nums = [1,2,3,4,5], k = 2 -> [4,5,1,2,3].",
    "class Solution:\n    def rotate(self, nums: List[int], k: int) -> List[int]:\n        k %= len(nums)\n"
    "        return nums[-k:] + nums[:-k] if k else nums[:]\n",
    (("[1, 2, 3, 4, 5]\n2", "[4, 5, 1, 2, 3]"), ("[1]\n5", "[1]")),
    lambda r: [_ints(r, r.randint(1, 7), 0, 9), r.randint(0, 12)],
    "rotate",
    "class Solution:\n    def rotate(self, nums: List[int], k: int) -> List[int]:\n        ",
  ),
  SampleProblem(
    "hj_f013",
    "count-islands",
    "medium",
    "2024-06-01",
    "grid is a list of strings of '1' (land) and '0' (water). Return the number of islands (4-connected groups "
    'of land).\n\nExample: grid = ["110","010","001"] -> 2.',
    "class Solution:\n    def numIslands(self, grid: List[str]) -> int:\n        h, w = len(grid), len(grid[0])\n"
    "        seen = set()\n        count = 0\n        for i in range(h):\n            for j in range(w):\n"
    "                if grid[i][j] == '1' and (i, j) not in seen:\n                    count += 1\n"
    "                    stack = [(i, j)]\n                    seen.add((i, j))\n                    while stack:\n"
    "                        a, b = stack.pop()\n"
    "                        for x, y in ((a + 1, b), (a - 1, b), (a, b + 1), (a, b - 1)):\n"
    "                            if 0 <= x < h and 0 <= y < w and grid[x][y] == '1' and (x, y) not in seen:\n"
    "                                seen.add((x, y))\n                                stack.append((x, y))\n"
    "        return count\n",
    (('["110", "010", "001"]', "2"), ('["0"]', "0")),
    lambda r: (lambda h, w: [["".join(r.choice("01") for _ in range(w)) for _ in range(h)]])(
      r.randint(1, 5), r.randint(1, 5)
    ),
    "numIslands",
    "class Solution:\n    def numIslands(self, grid: List[str]) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f014",
    "move-zeroes",
    "easy",
    "2024-06-08",
    "Return nums with all zeros moved to the end, keeping the order of the other elements.\n\nExample: nums = "
    "[0,1,0,3,12] -> [1,3,12,0,0].",
    "class Solution:\n    def moveZeroes(self, nums: List[int]) -> List[int]:\n"
    "        return [x for x in nums if x != 0] + [0] * nums.count(0)\n",
    (("[0, 1, 0, 3, 12]", "[1, 3, 12, 0, 0]"), ("[0]", "[0]")),
    lambda r: [_ints(r, r.randint(1, 8), 0, 3)],
    "moveZeroes",
    "class Solution:\n    def moveZeroes(self, nums: List[int]) -> List[int]:\n        ",
  ),
  SampleProblem(
    "hj_f015",
    "longest-substring-without-repeats",
    "medium",
    "2024-06-15",
    'Return the length of the longest substring of s without repeating characters.\n\nExample: s = "abcabcbb" -> 3.',
    "class Solution:\n    def lengthOfLongestSubstring(self, s: str) -> int:\n        last = {}\n        start = best = 0\n"
    "        for i, c in enumerate(s):\n            if last.get(c, -1) >= start:\n                start = last[c] + 1\n"
    "            last[c] = i\n            best = max(best, i - start + 1)\n        return best\n",
    (('"abcabcbb"', "3"), ('""', "0")),
    lambda r: [_word(r, 0, 12, "abcd")],
    "lengthOfLongestSubstring",
    "class Solution:\n    def lengthOfLongestSubstring(self, s: str) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f016",
    "power-of-two",
    "easy",
    "2024-06-22",
    "Return true if n is a power of two.\n\nExample: n = 16 -> true; n = 6 -> false.",
    "class Solution:\n    def isPowerOfTwo(self, n: int) -> bool:\n        return n > 0 and n & (n - 1) == 0\n",
    (("16", "true"), ("6", "false")),
    lambda r: [r.choice([2 ** r.randint(0, 30), r.randint(-5, 100)])],
    "isPowerOfTwo",
    "class Solution:\n    def isPowerOfTwo(self, n: int) -> bool:\n        ",
  ),
  SampleProblem(
    "hj_f017",
    "majority-element",
    "easy",
    "2024-07-06",
    "Return the element that appears more than n/2 times in nums (it always exists).\n\nExample: nums = "
    "[2,2,1,1,1,2,2] -> 2.",
    "class Solution:\n    def majorityElement(self, nums: List[int]) -> int:\n        cand, count = None, 0\n"
    "        for x in nums:\n            if count == 0:\n                cand = x\n"
    "            count += 1 if x == cand else -1\n        return cand\n",
    (("[2, 2, 1, 1, 1, 2, 2]", "2"), ("[5]", "5")),
    lambda r: (lambda m, n: [r.sample([m] * (n // 2 + 1) + _ints(r, n - n // 2 - 1, 0, 9), n)])(
      r.randint(0, 9), r.randint(1, 9)
    ),
    "majorityElement",
    "class Solution:\n    def majorityElement(self, nums: List[int]) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f018",
    "coin-change",
    "medium",
    "2024-07-13",
    "Return the fewest coins (values in coins, unlimited supply) that sum to amount, or -1 if impossible.\n\n"
    "Example: coins = [1,2,5], amount = 11 -> 3.",
    "class Solution:\n    def coinChange(self, coins: List[int], amount: int) -> int:\n        INF = float('inf')\n"
    "        dp = [0] + [INF] * amount\n        for a in range(1, amount + 1):\n            for c in coins:\n"
    "                if c <= a and dp[a - c] + 1 < dp[a]:\n                    dp[a] = dp[a - c] + 1\n"
    "        return dp[amount] if dp[amount] != INF else -1\n",
    (("[1, 2, 5]\n11", "3"), ("[2]\n3", "-1")),
    lambda r: [sorted(set(_ints(r, r.randint(1, 3), 2, 9))), r.randint(0, 40)],
    "coinChange",
    "class Solution:\n    def coinChange(self, coins: List[int], amount: int) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f019",
    "word-pattern",
    "medium",
    "2024-07-20",
    "Return true if the words of s follow pattern: a bijection maps each pattern letter to one word.\n\nExample: "
    'pattern = "abba", s = "dog cat cat dog" -> true.',
    "class Solution:\n    def wordPattern(self, pattern: str, s: str) -> bool:\n        words = s.split()\n"
    "        if len(words) != len(pattern):\n            return False\n"
    "        return len(set(pattern)) == len(set(words)) == len(set(zip(pattern, words)))\n",
    (('"abba"\n"dog cat cat dog"', "true"), ('"abba"\n"dog cat cat fish"', "false")),
    lambda r: (lambda p: [p, " ".join({"a": "dog", "b": "cat", "c": r.choice(["cat", "fish"])}[c] for c in p)])(
      _word(r, 1, 5, "abc")
    ),
    "wordPattern",
    "class Solution:\n    def wordPattern(self, pattern: str, s: str) -> bool:\n        ",
  ),
  SampleProblem(
    "hj_f020",
    "product-except-self",
    "medium",
    "2024-08-03",
    "Return a list whose i-th element is the product of all elements of nums except nums[i].\n\nExample: nums = "
    "[1,2,3,4] -> [24,12,8,6].",
    "class Solution:\n    def productExceptSelf(self, nums: List[int]) -> List[int]:\n        n = len(nums)\n"
    "        out = [1] * n\n        p = 1\n        for i in range(n):\n            out[i] = p\n            p *= nums[i]\n"
    "        p = 1\n        for i in range(n - 1, -1, -1):\n            out[i] *= p\n            p *= nums[i]\n"
    "        return out\n",
    (("[1, 2, 3, 4]", "[24, 12, 8, 6]"), ("[0, 5]", "[5, 0]")),
    lambda r: [_ints(r, r.randint(2, 6), -3, 5)],
    "productExceptSelf",
    "class Solution:\n    def productExceptSelf(self, nums: List[int]) -> List[int]:\n        ",
  ),
  SampleProblem(
    "hj_f021",
    "roman-to-integer",
    "easy",
    "2024-08-10",
    "Convert a Roman numeral (I, V, X, L, C, D, M with subtractive pairs) to an integer.\n\nExample: s = "
    '"MCMXCIV" -> 1994.',
    "class Solution:\n    def romanToInt(self, s: str) -> int:\n"
    "        v = {'I': 1, 'V': 5, 'X': 10, 'L': 50, 'C': 100, 'D': 500, 'M': 1000}\n        total = 0\n"
    "        for i, c in enumerate(s):\n            if i + 1 < len(s) and v[c] < v[s[i + 1]]:\n                total -= v[c]\n"
    "            else:\n                total += v[c]\n        return total\n",
    (('"MCMXCIV"', "1994"), ('"III"', "3")),
    lambda r: [_to_roman(r.randint(1, 3999))],
    "romanToInt",
    "class Solution:\n    def romanToInt(self, s: str) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f022",
    "search-insert-position",
    "easy",
    "2024-08-17",
    "nums is sorted and distinct. Return the index of target, or where it would be inserted.\n\nExample: nums = "
    "[1,3,5,6], target = 5 -> 2; target = 2 -> 1.",
    "class Solution:\n    def searchInsert(self, nums: List[int], target: int) -> int:\n        lo, hi = 0, len(nums)\n"
    "        while lo < hi:\n            mid = (lo + hi) // 2\n            if nums[mid] < target:\n                lo = mid + 1\n"
    "            else:\n                hi = mid\n        return lo\n",
    (("[1, 3, 5, 6]\n5", "2"), ("[1, 3, 5, 6]\n2", "1")),
    lambda r: [sorted(r.sample(range(-20, 20), r.randint(1, 8))), r.randint(-22, 22)],
    "searchInsert",
    "class Solution:\n    def searchInsert(self, nums: List[int], target: int) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f023",
    "group-sizes",
    "medium",
    "2024-09-07",
    "Return the sizes of the groups of equal adjacent elements of nums, in order.\n\nExample: nums = "
    "[1,1,2,3,3,3] -> [2,1,3].",
    "class Solution:\n    def groupSizes(self, nums: List[int]) -> List[int]:\n        out = []\n"
    "        for i, x in enumerate(nums):\n            if i and nums[i - 1] == x:\n                out[-1] += 1\n"
    "            else:\n                out.append(1)\n        return out\n",
    (("[1, 1, 2, 3, 3, 3]", "[2, 1, 3]"), ("[]", "[]")),
    lambda r: [_ints(r, r.randint(0, 10), 0, 2)],
    "groupSizes",
    "class Solution:\n    def groupSizes(self, nums: List[int]) -> List[int]:\n        ",
  ),
  SampleProblem(
    "hj_f024",
    "top-k-frequent",
    "medium",
    "2024-09-14",
    "Return the k most frequent elements of nums, most frequent first, ties broken by smaller value.\n\nExample: "
    "nums = [1,1,1,2,2,3], k = 2 -> [1,2].",
    "class Solution:\n    def topKFrequent(self, nums: List[int], k: int) -> List[int]:\n"
    "        c = Counter(nums)\n        return sorted(c, key=lambda x: (-c[x], x))[:k]\n",
    (("[1, 1, 1, 2, 2, 3]\n2", "[1, 2]"), ("[4]\n1", "[4]")),
    lambda r: (lambda xs: [xs, r.randint(1, len(set(xs)))])(_ints(r, r.randint(1, 10), 0, 5)),
    "topKFrequent",
    "class Solution:\n    def topKFrequent(self, nums: List[int], k: int) -> List[int]:\n        ",
  ),
  SampleProblem(
    "hj_f025",
    "unique-paths",
    "medium",
    "2024-10-05",
    "Return the number of paths from the top-left to the bottom-right of an m x n grid moving only right or "
    "down.\n\nExample: m = 3, n = 7 -> 28.",
    "class Solution:\n    def uniquePaths(self, m: int, n: int) -> int:\n        return comb(m + n - 2, m - 1)\n",
    (("3\n7", "28"), ("1\n1", "1")),
    lambda r: [r.randint(1, 12), r.randint(1, 12)],
    "uniquePaths",
    "class Solution:\n    def uniquePaths(self, m: int, n: int) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f026",
    "add-digits",
    "easy",
    "2024-10-19",
    "Repeatedly add the digits of num until one digit remains; return it.\n\nExample: num = 38 -> 2.",
    "class Solution:\n    def addDigits(self, num: int) -> int:\n        while num >= 10:\n"
    "            num = sum(int(c) for c in str(num))\n        return num\n",
    (("38", "2"), ("0", "0")),
    lambda r: [r.randint(0, 10**6)],
    "addDigits",
    "class Solution:\n    def addDigits(self, num: int) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f027",
    "longest-increasing-subsequence",
    "medium",
    "2024-11-02",
    "Return the length of the longest strictly increasing subsequence of nums.\n\nExample: nums = "
    "[10,9,2,5,3,7,101,18] -> 4.",
    "class Solution:\n    def lengthOfLIS(self, nums: List[int]) -> int:\n        tails = []\n        for x in nums:\n"
    "            i = bisect_left(tails, x)\n            if i == len(tails):\n                tails.append(x)\n"
    "            else:\n                tails[i] = x\n        return len(tails)\n",
    (("[10, 9, 2, 5, 3, 7, 101, 18]", "4"), ("[7, 7, 7]", "1")),
    lambda r: [_ints(r, r.randint(1, 10), 0, 20)],
    "lengthOfLIS",
    "class Solution:\n    def lengthOfLIS(self, nums: List[int]) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f028",
    "capitalize-words",
    "easy",
    "2024-12-07",
    "Return s with the first letter of every space-separated word upper-cased and the rest lower-cased.\n\n"
    'Example: s = "hello wORLD" -> "Hello World".',
    "class Solution:\n    def capitalizeWords(self, s: str) -> str:\n"
    "        return ' '.join(w[:1].upper() + w[1:].lower() for w in s.split(' '))\n",
    (('"hello wORLD"', '"Hello World"'), ('"a"', '"A"')),
    lambda r: [" ".join(_word(r, 1, 6, "abcXYZ") for _ in range(r.randint(1, 4)))],
    "capitalizeWords",
    "class Solution:\n    def capitalizeWords(self, s: str) -> str:\n        ",
  ),
  SampleProblem(
    "hj_f029",
    "house-robber",
    "medium",
    "2025-01-11",
    "Return the largest sum of elements of nums with no two chosen elements adjacent.\n\nExample: nums = "
    "[2,7,9,3,1] -> 12.",
    "class Solution:\n    def rob(self, nums: List[int]) -> int:\n        a = b = 0\n        for x in nums:\n"
    "            a, b = b, max(b, a + x)\n        return b\n",
    (("[2, 7, 9, 3, 1]", "12"), ("[5]", "5")),
    lambda r: [_ints(r, r.randint(1, 10), 0, 30)],
    "rob",
    "class Solution:\n    def rob(self, nums: List[int]) -> int:\n        ",
  ),
  SampleProblem(
    "hj_f030",
    "pascal-row",
    "easy",
    "2025-02-08",
    "Return row rowIndex (0-based) of Pascal's triangle.\n\nExample: rowIndex = 3 -> [1,3,3,1].",
    "class Solution:\n    def getRow(self, rowIndex: int) -> List[int]:\n        row = [1]\n"
    "        for _ in range(rowIndex):\n            row = [a + b for a, b in zip([0] + row, row + [0])]\n        return row\n",
    (("3", "[1, 3, 3, 1]"), ("0", "[1]")),
    lambda r: [r.randint(0, 20)],
    "getRow",
    "class Solution:\n    def getRow(self, rowIndex: int) -> List[int]:\n        ",
  ),
]


PROBLEMS: list[SampleProblem] = STDIN + FUNCTIONAL
