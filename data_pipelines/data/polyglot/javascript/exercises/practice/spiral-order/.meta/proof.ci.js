export const spiral = (matrix) => {
  if (matrix.some((row) => row.length !== matrix[0].length)) {
    throw new Error('ragged matrix');
  }
  const result = [];
  let rows = matrix.map((row) => [...row]);
  while (rows.length > 0 && rows[0].length > 0) {
    result.push(...rows.shift());
    // Turn the remaining rows a quarter counter-clockwise so that the next edge to read comes first.
    rows = rows.length === 0 ? [] : rows[0].map((_, c) => rows.map((row) => row[c])).reverse();
  }
  return result;
};
