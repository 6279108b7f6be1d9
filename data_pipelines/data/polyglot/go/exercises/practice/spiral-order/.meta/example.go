package spiralorder

import "errors"

// Spiral returns the elements of matrix in clockwise spiral order.
func Spiral(matrix [][]int) ([]int, error) {
	if len(matrix) == 0 {
		return []int{}, nil
	}
	width := len(matrix[0])
	for _, row := range matrix {
		if len(row) != width {
			return nil, errors.New("rows have different lengths")
		}
	}
	result := make([]int, 0, width*len(matrix))
	top, bottom, left, right := 0, len(matrix)-1, 0, width-1
	for top <= bottom && left <= right {
		for c := left; c <= right; c++ {
			result = append(result, matrix[top][c])
		}
		for r := top + 1; r <= bottom; r++ {
			result = append(result, matrix[r][right])
		}
		if top < bottom {
			for c := right - 1; c >= left; c-- {
				result = append(result, matrix[bottom][c])
			}
		}
		if left < right {
			for r := bottom - 1; r > top; r-- {
				result = append(result, matrix[r][left])
			}
		}
		top, bottom, left, right = top+1, bottom-1, left+1, right-1
	}
	return result, nil
}
