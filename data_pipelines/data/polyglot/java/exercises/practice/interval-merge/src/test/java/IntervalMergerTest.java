import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

public class IntervalMergerTest {

    @Test
    public void singleIntervalIsUnchanged() {
        assertThat(IntervalMerger.merge(List.of(new Interval(2, 7)))).containsExactly(new Interval(2, 7));
    }

    @Disabled("Remove to run test")
    @Test
    public void noIntervals() {
        assertThat(IntervalMerger.merge(List.of())).isEmpty();
    }

    @Disabled("Remove to run test")
    @Test
    public void disjointIntervalsAreSorted() {
        assertThat(IntervalMerger.merge(List.of(new Interval(8, 9), new Interval(1, 2), new Interval(4, 6))))
                .containsExactly(new Interval(1, 2), new Interval(4, 6), new Interval(8, 9));
    }

    @Disabled("Remove to run test")
    @Test
    public void overlappingIntervalsAreMerged() {
        assertThat(IntervalMerger.merge(List.of(new Interval(1, 4), new Interval(2, 6), new Interval(10, 12))))
                .containsExactly(new Interval(1, 6), new Interval(10, 12));
    }

    @Disabled("Remove to run test")
    @Test
    public void sharedEndpointMerges() {
        assertThat(IntervalMerger.merge(List.of(new Interval(3, 5), new Interval(1, 3))))
                .containsExactly(new Interval(1, 5));
    }

    @Disabled("Remove to run test")
    @Test
    public void neighboursThatDoNotTouchStayApart() {
        assertThat(IntervalMerger.merge(List.of(new Interval(1, 2), new Interval(3, 4))))
                .containsExactly(new Interval(1, 2), new Interval(3, 4));
    }

    @Disabled("Remove to run test")
    @Test
    public void nestedIntervalsDisappear() {
        assertThat(IntervalMerger.merge(List.of(new Interval(1, 10), new Interval(2, 3), new Interval(4, 9))))
                .containsExactly(new Interval(1, 10));
    }

    @Disabled("Remove to run test")
    @Test
    public void inputIsNotModified() {
        List<Interval> input = new ArrayList<>(List.of(new Interval(5, 6), new Interval(1, 5)));
        IntervalMerger.merge(input);
        assertThat(input).containsExactly(new Interval(5, 6), new Interval(1, 5));
    }

    @Disabled("Remove to run test")
    @Test
    public void startAfterEndIsRejected() {
        assertThatThrownBy(() -> IntervalMerger.merge(List.of(new Interval(1, 2), new Interval(5, 4))))
                .isInstanceOf(IllegalArgumentException.class);
    }

}
