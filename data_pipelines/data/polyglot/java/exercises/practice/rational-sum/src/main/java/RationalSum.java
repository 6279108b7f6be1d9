import java.util.List;

class RationalSum {

    static String sum(List<String> fractions) {
        throw new UnsupportedOperationException("Delete this statement and write your own implementation.");
    }

}
