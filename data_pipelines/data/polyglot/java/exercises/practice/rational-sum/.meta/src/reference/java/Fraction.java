import java.math.BigInteger;

/** An exact fraction in lowest terms with a positive denominator (a helper class in its own file). */
public final class Fraction {

    static final Fraction ZERO = new Fraction(BigInteger.ZERO, BigInteger.ONE);

    private final BigInteger numerator;
    private final BigInteger denominator;

    private Fraction(BigInteger numerator, BigInteger denominator) {
        if (denominator.signum() == 0) {
            throw new IllegalArgumentException("denominator is zero");
        }
        BigInteger divisor = numerator.gcd(denominator);
        if (denominator.signum() < 0) {
            divisor = divisor.negate();
        }
        this.numerator = numerator.divide(divisor);
        this.denominator = denominator.divide(divisor);
    }

    static Fraction parse(String text) {
        String[] parts = text.trim().split("/", -1);
        try {
            if (parts.length == 1) {
                return new Fraction(new BigInteger(parts[0].trim()), BigInteger.ONE);
            }
            if (parts.length == 2) {
                return new Fraction(new BigInteger(parts[0].trim()), new BigInteger(parts[1].trim()));
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a fraction: " + text, e);
        }
        throw new IllegalArgumentException("not a fraction: " + text);
    }

    Fraction plus(Fraction other) {
        return new Fraction(numerator.multiply(other.denominator).add(other.numerator.multiply(denominator)),
                denominator.multiply(other.denominator));
    }

    @Override
    public String toString() {
        return denominator.equals(BigInteger.ONE) ? numerator.toString() : numerator + "/" + denominator;
    }

}
