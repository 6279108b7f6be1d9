import unittest

from word_tally import (
    tally,
)


class WordTallyTest(unittest.TestCase):
    def test_single_word(self):
        self.assertEqual(tally("hello"), [("hello", 1)])

    def test_empty_text(self):
        self.assertEqual(tally(""), [])

    def test_only_separators(self):
        self.assertEqual(tally(" ,.; -- "), [])

    def test_case_is_folded(self):
        self.assertEqual(tally("Py py PY"), [("py", 3)])

    def test_ties_are_ordered_by_word(self):
        self.assertEqual(tally("b a c a b"), [("a", 2), ("b", 2), ("c", 1)])

    def test_punctuation_separates_words(self):
        self.assertEqual(
            tally("one,two;three.two"), [("two", 2), ("one", 1), ("three", 1)]
        )

    def test_digits_are_part_of_words(self):
        self.assertEqual(
            tally("route 66 and route66"),
            [("66", 1), ("and", 1), ("route", 1), ("route66", 1)],
        )

    def test_unicode_letters(self):
        self.assertEqual(tally("Été été ÉTÉ x"), [("été", 3), ("x", 1)])
