pub fn spiral(matrix: &[Vec<i32>]) -> Vec<i32> {
    todo!("read {matrix:?} in spiral order")
}
