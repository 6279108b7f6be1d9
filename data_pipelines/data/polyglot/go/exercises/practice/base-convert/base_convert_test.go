package baseconvert

import (
	"reflect"
	"testing"
)

func TestConvert(t *testing.T) {
	tests := []struct {
		description string
		digits      []int
		from, to    int
		expected    []int
	}{
		{"decimal to binary", []int{4, 2}, 10, 2, []int{1, 0, 1, 0, 1, 0}},
		{"binary to decimal", []int{1, 1, 1, 1}, 2, 10, []int{1, 5}},
		{"same base", []int{3, 0, 7}, 10, 10, []int{3, 0, 7}},
		{"zero", []int{0}, 10, 3, []int{0}},
		{"leading zeros are dropped", []int{0, 0, 1, 2}, 10, 16, []int{12}},
		{"large bases", []int{1, 255}, 256, 97, []int{5, 26}},
		{"hexadecimal to octal", []int{15, 15}, 16, 8, []int{3, 7, 7}},
	}
	for _, tc := range tests {
		t.Run(tc.description, func(t *testing.T) {
			got, err := Convert(tc.digits, tc.from, tc.to)
			if err != nil {
				t.Fatalf("Convert(%v, %d, %d) returned error %v", tc.digits, tc.from, tc.to, err)
			}
			if !reflect.DeepEqual(got, tc.expected) {
				t.Fatalf("Convert(%v, %d, %d) = %v, want %v", tc.digits, tc.from, tc.to, got, tc.expected)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	tests := []struct {
		description string
		digits      []int
		from, to    int
	}{
		{"input base one", []int{0}, 1, 10},
		{"output base zero", []int{1}, 10, 0},
		{"digit equal to base", []int{1, 2}, 2, 10},
		{"negative digit", []int{-1}, 10, 2},
		{"no digits", []int{}, 10, 2},
	}
	for _, tc := range tests {
		t.Run(tc.description, func(t *testing.T) {
			if _, err := Convert(tc.digits, tc.from, tc.to); err == nil {
				t.Fatalf("Convert(%v, %d, %d): expected an error", tc.digits, tc.from, tc.to)
			}
		})
	}
}
