package wordtally

import (
	"reflect"
	"testing"
)

func TestTally(t *testing.T) {
	tests := []struct {
		description string
		text        string
		expected    []WordCount
	}{
		{"single word", "hello", []WordCount{{"hello", 1}}},
		{"empty text", "", []WordCount{}},
		{"only separators", " ,.; -- ", []WordCount{}},
		{"case is folded", "Go go GO", []WordCount{{"go", 3}}},
		{"ties are ordered by word", "b a c a b", []WordCount{{"a", 2}, {"b", 2}, {"c", 1}}},
		{"punctuation separates words", "one,two;three.two", []WordCount{{"two", 2}, {"one", 1}, {"three", 1}}},
		{"digits are part of words", "route 66 and route66", []WordCount{{"66", 1}, {"and", 1}, {"route", 1}, {"route66", 1}}},
		{"unicode letters", "Été été ÉTÉ x", []WordCount{{"été", 3}, {"x", 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.description, func(t *testing.T) {
			got := Tally(tc.text)
			if len(got) == 0 && len(tc.expected) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.expected) {
				t.Fatalf("Tally(%q) = %v, want %v", tc.text, got, tc.expected)
			}
		})
	}
}
