import { spiral } from './spiral-order';

describe('Spiral order', () => {
  test('a square matrix', () => {
    expect(
      spiral([
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ]),
    ).toEqual([1, 2, 3, 6, 9, 8, 7, 4, 5]);
  });

  xtest('an empty matrix', () => {
    expect(spiral([])).toEqual([]);
  });

  xtest('empty rows', () => {
    expect(spiral([[], []])).toEqual([]);
  });

  xtest('a single row', () => {
    expect(spiral([[1, 2, 3, 4]])).toEqual([1, 2, 3, 4]);
  });

  xtest('a single column', () => {
    expect(spiral([[1], [2], [3]])).toEqual([1, 2, 3]);
  });

  xtest('a wide matrix', () => {
    expect(
      spiral([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ]),
    ).toEqual([1, 2, 3, 4, 8, 7, 6, 5]);
  });

  xtest('a tall matrix', () => {
    expect(
      spiral([
        [1, 2],
        [3, 4],
        [5, 6],
        [7, 8],
      ]),
    ).toEqual([1, 2, 4, 6, 8, 7, 5, 3]);
  });

  xtest('a four by four matrix', () => {
    expect(
      spiral([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
        [13, 14, 15, 16],
      ]),
    ).toEqual([1, 2, 3, 4, 8, 12, 16, 15, 14, 13, 9, 5, 6, 7, 11, 10]);
  });

  xtest('ragged rows are rejected', () => {
    expect(() => spiral([[1, 2], [3]])).toThrow(new Error('ragged matrix'));
  });
});
