package wordtally

// WordCount is a word and the number of times it occurs.
type WordCount struct {
	Word  string
	Count int
}

func Tally(text string) []WordCount {
	panic("Please implement the Tally function")
}
