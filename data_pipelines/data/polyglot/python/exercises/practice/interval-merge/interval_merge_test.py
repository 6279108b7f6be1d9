import unittest

from interval_merge import (
    merge,
)


class IntervalMergeTest(unittest.TestCase):
    def test_single_interval_is_unchanged(self):
        self.assertEqual(merge([(2, 7)]), [(2, 7)])

    def test_no_intervals(self):
        self.assertEqual(merge([]), [])

    def test_disjoint_intervals_are_sorted(self):
        self.assertEqual(merge([(8, 9), (1, 2), (4, 6)]), [(1, 2), (4, 6), (8, 9)])

    def test_overlapping_intervals_are_merged(self):
        self.assertEqual(merge([(1, 4), (2, 6), (10, 12)]), [(1, 6), (10, 12)])

    def test_shared_endpoint_merges(self):
        self.assertEqual(merge([(3, 5), (1, 3)]), [(1, 5)])

    def test_neighbours_that_do_not_touch_stay_apart(self):
        self.assertEqual(merge([(1, 2), (3, 4)]), [(1, 2), (3, 4)])

    def test_nested_intervals_disappear(self):
        self.assertEqual(merge([(1, 10), (2, 3), (4, 9)]), [(1, 10)])

    def test_input_is_not_modified(self):
        intervals = [(5, 6), (1, 5)]
        merge(intervals)
        self.assertEqual(intervals, [(5, 6), (1, 5)])

    def test_start_after_end_is_rejected(self):
        with self.assertRaises(ValueError) as err:
            merge([(1, 2), (5, 4)])
        self.assertEqual(err.exception.args[0], "start after end")
