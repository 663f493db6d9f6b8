//go:build tamago

// Command bootcheck is the smallest tamanet image: it boots, reports the
// calibrated clock on the serial console and leaves QEMU with the status
// given by the -exit flag (the boot test checks both).
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"tamanet/board"
)

// exitCode is set at link time (-X main.exitCode=N) because a bare-metal
// image has no command line yet.
var exitCode = "3"

func main() {
	var code int
	if _, err := fmt.Sscan(exitCode, &code); err != nil {
		fmt.Fprintf(os.Stderr, "bootcheck: bad exit code %q: %v\n", exitCode, err)
		code = 1
	}
	start := time.Now()
	time.Sleep(10 * time.Millisecond)
	fmt.Printf("tamanet bootcheck: %s %s/%s, TSC %d Hz, slept %v\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, board.TSCFrequency(), time.Since(start).Round(time.Millisecond))
	board.Exit(int32(code))
}
