import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

public class BracketDepthTest {

    @Test
    public void onePairOfParentheses() {
        assertThat(BracketDepth.maxDepth("(x)")).isEqualTo(1);
    }

    @Disabled("Remove to run test")
    @Test
    public void textWithoutBracketsHasDepthZero() {
        assertThat(BracketDepth.maxDepth("plain text")).isZero();
    }

    @Disabled("Remove to run test")
    @Test
    public void emptyTextHasDepthZero() {
        assertThat(BracketDepth.maxDepth("")).isZero();
    }

    @Disabled("Remove to run test")
    @Test
    public void nestedBracketsOfMixedKinds() {
        assertThat(BracketDepth.maxDepth("a(b[c{d}e]f)g")).isEqualTo(3);
    }

    @Disabled("Remove to run test")
    @Test
    public void siblingsDoNotAddUp() {
        assertThat(BracketDepth.maxDepth("()[]{}(())")).isEqualTo(2);
    }

    @Disabled("Remove to run test")
    @Test
    public void unmatchedClosingBracketIsRejected() {
        assertThatThrownBy(() -> BracketDepth.maxDepth("())"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unbalanced brackets");
    }

    @Disabled("Remove to run test")
    @Test
    public void unclosedOpeningBracketIsRejected() {
        assertThatThrownBy(() -> BracketDepth.maxDepth("((x)"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unbalanced brackets");
    }

    @Disabled("Remove to run test")
    @Test
    public void crossedBracketsAreRejected() {
        assertThatThrownBy(() -> BracketDepth.maxDepth("([)]"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unbalanced brackets");
    }

}
