pub fn spiral(matrix: &[Vec<i32>]) -> Vec<i32> {
    let rows = matrix.len() as i64;
    let cols = matrix.first().map_or(0, |row| row.len()) as i64;
    let at = |r: i64, c: i64| matrix[r as usize][c as usize];
    let mut result = Vec::with_capacity((rows * cols) as usize);
    let (mut top, mut bottom, mut left, mut right) = (0, rows - 1, 0, cols - 1);
    while top <= bottom && left <= right {
        result.extend((left..=right).map(|c| at(top, c)));
        result.extend((top + 1..=bottom).map(|r| at(r, right)));
        if top < bottom {
            result.extend((left..right).rev().map(|c| at(bottom, c)));
        }
        if left < right {
            result.extend((top + 1..bottom).rev().map(|r| at(r, left)));
        }
        top += 1;
        bottom -= 1;
        left += 1;
        right -= 1;
    }
    result
}
