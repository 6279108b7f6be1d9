import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

class IntervalMerger {

    static List<Interval> merge(List<Interval> intervals) {
        for (Interval interval : intervals) {
            if (interval.start() > interval.end()) {
                throw new IllegalArgumentException("interval start is after its end: " + interval);
            }
        }
        List<Interval> sorted = new ArrayList<>(intervals);
        sorted.sort(Comparator.comparingInt(Interval::start).thenComparingInt(Interval::end));
        List<Interval> merged = new ArrayList<>();
        for (Interval interval : sorted) {
            int last = merged.size() - 1;
            if (last >= 0 && interval.start() <= merged.get(last).end()) {
                Interval previous = merged.get(last);
                merged.set(last, new Interval(previous.start(), Math.max(previous.end(), interval.end())));
            } else {
                merged.add(interval);
            }
        }
        return merged;
    }

}
