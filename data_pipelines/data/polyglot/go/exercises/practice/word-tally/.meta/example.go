package wordtally

import (
	"sort"
	"strings"
	"unicode"
)

// WordCount is a word and the number of times it occurs.
type WordCount struct {
	Word  string
	Count int
}

// Tally counts the words of text, most frequent first.
func Tally(text string) []WordCount {
	isSeparator := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	counts := map[string]int{}
	for _, word := range strings.FieldsFunc(text, isSeparator) {
		counts[strings.ToLower(word)]++
	}
	result := make([]WordCount, 0, len(counts))
	for word, count := range counts {
		result = append(result, WordCount{Word: word, Count: count})
	}
	sort.Slice(result, func(i, j int) bool {
		if result[i].Count != result[j].Count {
			return result[i].Count > result[j].Count
		}
		return result[i].Word < result[j].Word
	})
	return result
}
