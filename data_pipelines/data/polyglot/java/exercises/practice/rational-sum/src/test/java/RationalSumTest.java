import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

public class RationalSumTest {

    @Test
    public void twoHalvesMakeOne() {
        assertThat(RationalSum.sum(List.of("1/2", "1/2"))).isEqualTo("1");
    }

    @Disabled("Remove to run test")
    @Test
    public void noFractionsSumToZero() {
        assertThat(RationalSum.sum(List.of())).isEqualTo("0");
    }

    @Disabled("Remove to run test")
    @Test
    public void sumIsInLowestTerms() {
        assertThat(RationalSum.sum(List.of("1/2", "1/3"))).isEqualTo("5/6");
        assertThat(RationalSum.sum(List.of("2/8", "1/8"))).isEqualTo("3/8");
    }

    @Disabled("Remove to run test")
    @Test
    public void signsAndIntegers() {
        assertThat(RationalSum.sum(List.of("5/-10", " 3 ", "-2/6"))).isEqualTo("13/6");
        assertThat(RationalSum.sum(List.of("1/3", "-1/2"))).isEqualTo("-1/6");
    }

    @Disabled("Remove to run test")
    @Test
    public void largeValuesStayExact() {
        assertThat(RationalSum.sum(List.of("1/9223372036854775807", "1/9223372036854775807")))
                .isEqualTo("2/9223372036854775807");
    }

    @Disabled("Remove to run test")
    @Test
    public void zeroDenominatorIsInvalid() {
        assertThatThrownBy(() -> RationalSum.sum(List.of("1/2", "3/0")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Disabled("Remove to run test")
    @Test
    public void textThatIsNotAFractionIsInvalid() {
        assertThatThrownBy(() -> RationalSum.sum(List.of("1/2/3")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RationalSum.sum(List.of("one half")))
                .isInstanceOf(IllegalArgumentException.class);
    }

}
