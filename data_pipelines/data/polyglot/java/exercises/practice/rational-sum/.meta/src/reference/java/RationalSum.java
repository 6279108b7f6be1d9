import java.util.List;

class RationalSum {

    static String sum(List<String> fractions) {
        Fraction total = Fraction.ZERO;
        for (String text : fractions) {
            total = total.plus(Fraction.parse(text));
        }
        return total.toString();
    }

}
