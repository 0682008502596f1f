package main

import (
	"fmt"
	"os"
)

func add(a int, b int) int {
	return a + b
}

func main() {
	var s string = add(1, 2)
	fmt.Println(s, undefinedVar)
	x := 5
}
