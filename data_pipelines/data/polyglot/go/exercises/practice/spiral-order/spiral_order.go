package spiralorder

func Spiral(matrix [][]int) ([]int, error) {
	panic("Please implement the Spiral function")
}
