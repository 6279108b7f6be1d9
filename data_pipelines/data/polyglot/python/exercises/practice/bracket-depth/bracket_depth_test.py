import unittest

from bracket_depth import (
    max_depth,
)


class BracketDepthTest(unittest.TestCase):
    def test_one_pair_of_parentheses(self):
        self.assertEqual(max_depth("(x)"), 1)

    def test_text_without_brackets_has_depth_zero(self):
        self.assertEqual(max_depth("plain text"), 0)

    def test_empty_text_has_depth_zero(self):
        self.assertEqual(max_depth(""), 0)

    def test_nested_brackets_of_mixed_kinds(self):
        self.assertEqual(max_depth("a(b[c{d}e]f)g"), 3)

    def test_siblings_do_not_add_up(self):
        self.assertEqual(max_depth("()[]{}(())"), 2)

    def test_unmatched_closing_bracket(self):
        with self.assertRaises(ValueError) as err:
            max_depth("())")
        self.assertEqual(err.exception.args[0], "unbalanced brackets")

    def test_unclosed_opening_bracket(self):
        with self.assertRaises(ValueError) as err:
            max_depth("((x)")
        self.assertEqual(err.exception.args[0], "unbalanced brackets")

    def test_crossed_brackets(self):
        with self.assertRaises(ValueError) as err:
            max_depth("([)]")
        self.assertEqual(err.exception.args[0], "unbalanced brackets")
