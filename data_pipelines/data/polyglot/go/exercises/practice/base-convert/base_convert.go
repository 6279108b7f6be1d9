package baseconvert

func Convert(digits []int, fromBase, toBase int) ([]int, error) {
	panic("Please implement the Convert function")
}
