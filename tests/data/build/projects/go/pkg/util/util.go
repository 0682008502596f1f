package util

import "fmt"

func Show(n int) {
	fmt.Printf("%s\n", n)
	return
	fmt.Println("unreachable")
}
