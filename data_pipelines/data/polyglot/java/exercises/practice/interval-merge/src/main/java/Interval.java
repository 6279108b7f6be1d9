record Interval(int start, int end) {
}
