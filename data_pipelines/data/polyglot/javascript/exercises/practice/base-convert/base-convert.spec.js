import { convert } from './base-convert';

describe('Base convert', () => {
  test('decimal to binary', () => {
    expect(convert([4, 2], 10, 2)).toEqual([1, 0, 1, 0, 1, 0]);
  });

  xtest('binary to decimal', () => {
    expect(convert([1, 1, 1, 1], 2, 10)).toEqual([1, 5]);
  });

  xtest('zero', () => {
    expect(convert([0], 10, 3)).toEqual([0]);
  });

  xtest('leading zeros are dropped', () => {
    expect(convert([0, 0, 1, 2], 10, 16)).toEqual([12]);
  });

  xtest('large bases', () => {
    expect(convert([1, 255], 256, 97)).toEqual([5, 26]);
  });

  xtest('an input base of one is invalid', () => {
    expect(() => convert([0], 1, 10)).toThrow(new Error('invalid base'));
  });

  xtest('a fractional output base is invalid', () => {
    expect(() => convert([1], 10, 2.5)).toThrow(new Error('invalid base'));
  });

  xtest('a digit equal to the base is invalid', () => {
    expect(() => convert([1, 2], 2, 10)).toThrow(new Error('invalid digits'));
  });

  xtest('no digits are invalid', () => {
    expect(() => convert([], 10, 2)).toThrow(new Error('invalid digits'));
  });
});
