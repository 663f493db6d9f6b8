//go:build !tamago

package main

import (
	"fmt"
	"os"
)

// main on the host only says where the program runs, so that the host's
// go build ./... builds every package (the handlers are tested here).
func main() {
	fmt.Fprintln(os.Stderr, "kv is a tamanet unikernel: boot it with make run APP=./examples/kv")
	os.Exit(2)
}
