package spiralorder

import (
	"reflect"
	"testing"
)

func TestSpiral(t *testing.T) {
	tests := []struct {
		description string
		matrix      [][]int
		expected    []int
	}{
		{"square", [][]int{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, []int{1, 2, 3, 6, 9, 8, 7, 4, 5}},
		{"empty matrix", [][]int{}, []int{}},
		{"rows of length zero", [][]int{{}, {}}, []int{}},
		{"single element", [][]int{{7}}, []int{7}},
		{"single row", [][]int{{1, 2, 3, 4}}, []int{1, 2, 3, 4}},
		{"single column", [][]int{{1}, {2}, {3}}, []int{1, 2, 3}},
		{"wide", [][]int{{1, 2, 3, 4}, {5, 6, 7, 8}}, []int{1, 2, 3, 4, 8, 7, 6, 5}},
		{"tall", [][]int{{1, 2}, {3, 4}, {5, 6}, {7, 8}}, []int{1, 2, 4, 6, 8, 7, 5, 3}},
		{"four by four", [][]int{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}, {13, 14, 15, 16}},
			[]int{1, 2, 3, 4, 8, 12, 16, 15, 14, 13, 9, 5, 6, 7, 11, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.description, func(t *testing.T) {
			got, err := Spiral(tc.matrix)
			if err != nil {
				t.Fatalf("Spiral(%v) returned error %v", tc.matrix, err)
			}
			if len(got) == 0 && len(tc.expected) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.expected) {
				t.Fatalf("Spiral(%v) = %v, want %v", tc.matrix, got, tc.expected)
			}
		})
	}
}

func TestSpiralRaggedRows(t *testing.T) {
	if _, err := Spiral([][]int{{1, 2}, {3}}); err == nil {
		t.Fatal("Spiral of ragged rows: expected an error, got nil")
	}
}
