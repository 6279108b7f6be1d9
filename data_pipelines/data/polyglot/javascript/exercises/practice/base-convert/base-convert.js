//
// This is only a SKELETON file for the 'Base Convert' exercise. It's been provided as a
// convenience to get you started writing code faster.
//

export const convert = (digits, fromBase, toBase) => {
  throw new Error('Remove this statement and implement this function');
};
