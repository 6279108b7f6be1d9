use spiral_order::spiral;

#[test]
fn a_square_matrix() {
    let matrix = vec![vec![1, 2, 3], vec![4, 5, 6], vec![7, 8, 9]];
    assert_eq!(spiral(&matrix), vec![1, 2, 3, 6, 9, 8, 7, 4, 5]);
}

#[test]
#[ignore]
fn an_empty_matrix() {
    assert_eq!(spiral(&[]), Vec::<i32>::new());
}

#[test]
#[ignore]
fn empty_rows() {
    assert_eq!(spiral(&[vec![], vec![]]), Vec::<i32>::new());
}

#[test]
#[ignore]
fn a_single_element() {
    assert_eq!(spiral(&[vec![7]]), vec![7]);
}

#[test]
#[ignore]
fn a_single_row() {
    assert_eq!(spiral(&[vec![1, 2, 3, 4]]), vec![1, 2, 3, 4]);
}

#[test]
#[ignore]
fn a_single_column() {
    assert_eq!(spiral(&[vec![1], vec![2], vec![3]]), vec![1, 2, 3]);
}

#[test]
#[ignore]
fn a_wide_matrix() {
    let matrix = vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8]];
    assert_eq!(spiral(&matrix), vec![1, 2, 3, 4, 8, 7, 6, 5]);
}

#[test]
#[ignore]
fn a_tall_matrix() {
    let matrix = vec![vec![1, 2], vec![3, 4], vec![5, 6], vec![7, 8]];
    assert_eq!(spiral(&matrix), vec![1, 2, 4, 6, 8, 7, 5, 3]);
}

#[test]
#[ignore]
fn a_four_by_four_matrix() {
    let matrix = vec![
        vec![1, 2, 3, 4],
        vec![5, 6, 7, 8],
        vec![9, 10, 11, 12],
        vec![13, 14, 15, 16],
    ];
    assert_eq!(
        spiral(&matrix),
        vec![1, 2, 3, 4, 8, 12, 16, 15, 14, 13, 9, 5, 6, 7, 11, 10]
    );
}

#[test]
#[ignore]
fn a_three_by_five_matrix() {
    let matrix = vec![
        vec![1, 2, 3, 4, 5],
        vec![6, 7, 8, 9, 10],
        vec![11, 12, 13, 14, 15],
    ];
    assert_eq!(
        spiral(&matrix),
        vec![1, 2, 3, 4, 5, 10, 15, 14, 13, 12, 11, 6, 7, 8, 9]
    );
}
