const isBase = (base) => Number.isInteger(base) && base >= 2;

export const convert = (digits, fromBase, toBase) => {
  if (!isBase(fromBase) || !isBase(toBase)) {
    throw new Error('invalid base');
  }
  if (digits.length === 0 || digits.some((d) => !Number.isInteger(d) || d < 0 || d >= fromBase)) {
    throw new Error('invalid digits');
  }
  let value = digits.reduce((acc, d) => acc * fromBase + d, 0);
  if (value === 0) {
    return [0];
  }
  const result = [];
  while (value > 0) {
    result.unshift(value % toBase);
    value = Math.floor(value / toBase);
  }
  return result;
};
