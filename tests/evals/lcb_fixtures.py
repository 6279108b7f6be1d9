"""A few LiveCodeBench-format problems (code_generation_lite schema) with reference solutions."""

import base64
import json
import pickle
import zlib


def encode_private(tests):
  return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


def records():
  def stdin(i, o):
    return {"input": i, "output": o, "testtype": "stdin"}

  def functional(i, o):
    return {"input": i, "output": o, "testtype": "functional"}

  return [
    {
      "question_title": "A. Sum",
      "question_content": "Read two integers A and B and print A+B.",
      "platform": "atcoder",
      "question_id": "abc900_a",
      "contest_id": "abc900",
      "contest_date": "2023-08-05T00:00:00",
      "starter_code": "",
      "difficulty": "easy",
      "public_test_cases": json.dumps([stdin("3 4\n", "7\n")]),
      "private_test_cases": encode_private([stdin("10 -2\n", "8\n"), stdin("0 0\n", "0\n")]),
      "metadata": "{}",
      "solution": "a, b = map(int, input().split())\nprint(a + b)\n",
    },
    {
      "question_title": "B. Mean",
      "question_content": "Read N then N integers; print their mean.",
      "platform": "atcoder",
      "question_id": "abc900_b",
      "contest_id": "abc900",
      "contest_date": "2024-02-10T00:00:00",
      "starter_code": "",
      "difficulty": "medium",
      "public_test_cases": json.dumps([stdin("2\n2 3\n", "2.50\n")]),
      "private_test_cases": json.dumps([stdin("4\n1 1 1 1\n", "1\n"), stdin("1\n7\n", "7.000\n")]),
      "metadata": "{}",
      "solution": "import sys\ndata = sys.stdin.read().split()\nn = int(data[0])\n"
      "print(sum(map(int, data[1:n + 1])) / n)\n",
    },
    {
      "question_title": "sum-of-list",
      "question_content": "Return the sum of nums.",
      "platform": "leetcode",
      "question_id": "9001",
      "contest_id": "weekly-contest-900",
      "contest_date": "2024-06-01T00:00:00",
      "starter_code": "class Solution:\n    def sumList(self, nums: List[int]) -> int:\n        ",
      "difficulty": "easy",
      "public_test_cases": json.dumps([functional("[1, 2, 3]", "6")]),
      "private_test_cases": json.dumps([functional("[]", "0"), functional("[-5, 5, 10]", "10")]),
      "metadata": json.dumps({"func_name": "sumList"}),
      "solution": "class Solution:\n    def sumList(self, nums: List[int]) -> int:\n        return sum(nums)\n",
    },
    {
      "question_title": "min-and-max",
      "question_content": "Return [min(nums) + k, max(nums) + k].",
      "platform": "leetcode",
      "question_id": "9002",
      "contest_id": "biweekly-contest-900",
      "contest_date": "2025-01-20T00:00:00",
      "starter_code": "class Solution:\n    def minMax(self, nums: List[int], k: int) -> List[int]:\n        ",
      "difficulty": "hard",
      "public_test_cases": json.dumps([functional("[3, 1, 2]\n0", "[1, 3]")]),
      "private_test_cases": json.dumps([functional("[5]\n2", "[7, 7]")]),
      "metadata": json.dumps({"func_name": "minMax"}),
      "solution": "class Solution:\n    def minMax(self, nums: List[int], k: int) -> List[int]:\n"
      "        return (min(nums) + k, max(nums) + k)\n",
    },
  ]


def write(path):
  path.write_text("".join(json.dumps(r) + "\n" for r in records()))
  return path
