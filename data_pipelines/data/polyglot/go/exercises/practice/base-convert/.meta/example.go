package baseconvert

import "errors"

// Convert rewrites digits (most significant first) from fromBase to toBase.
func Convert(digits []int, fromBase, toBase int) ([]int, error) {
	if fromBase < 2 {
		return nil, errors.New("input base must be >= 2")
	}
	if toBase < 2 {
		return nil, errors.New("output base must be >= 2")
	}
	if len(digits) == 0 {
		return nil, errors.New("no digits")
	}
	value := 0
	for _, d := range digits {
		if d < 0 || d >= fromBase {
			return nil, errors.New("digit out of range for the input base")
		}
		value = value*fromBase + d
	}
	if value == 0 {
		return []int{0}, nil
	}
	var reversed []int
	for value > 0 {
		reversed = append(reversed, value%toBase)
		value /= toBase
	}
	result := make([]int, len(reversed))
	for i, d := range reversed {
		result[len(reversed)-1-i] = d
	}
	return result, nil
}
