//
// This is only a SKELETON file for the 'RLE Codec' exercise. It's been provided as a
// convenience to get you started writing code faster.
//

export const encode = (text) => {
  throw new Error('Remove this statement and implement this function');
};

export const decode = (text) => {
  throw new Error('Remove this statement and implement this function');
};
