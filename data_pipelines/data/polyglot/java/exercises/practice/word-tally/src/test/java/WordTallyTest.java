import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

public class WordTallyTest {

    @Test
    public void singleWord() {
        assertThat(WordTally.tally("hello")).containsExactly(entry("hello", 1));
    }

    @Disabled("Remove to run test")
    @Test
    public void emptyText() {
        assertThat(WordTally.tally("")).isEmpty();
    }

    @Disabled("Remove to run test")
    @Test
    public void onlySeparators() {
        assertThat(WordTally.tally(" ,.; -- ")).isEmpty();
    }

    @Disabled("Remove to run test")
    @Test
    public void caseIsFolded() {
        assertThat(WordTally.tally("Java java JAVA")).containsExactly(entry("java", 3));
    }

    @Disabled("Remove to run test")
    @Test
    public void tiesAreOrderedByWord() {
        assertThat(WordTally.tally("b a c a b"))
                .containsExactly(entry("a", 2), entry("b", 2), entry("c", 1));
    }

    @Disabled("Remove to run test")
    @Test
    public void punctuationSeparatesWords() {
        assertThat(WordTally.tally("one,two;three.two"))
                .containsExactly(entry("two", 2), entry("one", 1), entry("three", 1));
    }

    @Disabled("Remove to run test")
    @Test
    public void digitsArePartOfWords() {
        assertThat(WordTally.tally("route 66 and route66"))
                .containsExactly(entry("66", 1), entry("and", 1), entry("route", 1), entry("route66", 1));
    }

}
