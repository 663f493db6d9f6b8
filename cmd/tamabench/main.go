//go:build linux

// Command tamabench measures an HTTP + echo target (the tamanet unikernel or
// the Linux baseline guest, both serving cmd/internal/service behind QEMU's
// user-net port forwards or on a tap) and compares results. Its interleave,
// profile and soak -image commands boot the guests themselves (package vm,
// through qemu.sh) and measure them with this same binary's run and soak,
// run as children where the guest is reachable.
//
//	tamabench run        [flags]             measure one target, one round
//	tamabench boot       [flags]             poll until the first 200, report the time since a start instant
//	tamabench compare    [flags] FILE...     medians across rounds and ratios against a base target
//	tamabench soak       [flags]             long mixed load with link flaps; fails on leaks, wrong bytes or failed requests
//	tamabench interleave [flags] [-- run flags]  rounds of guests booted in turn, each measured by run, then compare
//	tamabench profile    [flags] IMAGE TEST  one run test over tap with the guest's CPU profile and QEMU's per-thread CPU
//	tamabench accel      IMAGE               the accelerator qemu.sh -a auto picks for IMAGE
//	tamabench costs      DIR...              per-MB notifications and interrupts from the /stats interleave -S saved
//	tamabench ceiling    [flags] IMAGE       what the NIC moves with no stack above it (boot option pktgen=), per mode, over tap
//
// "tamabench -h" or "tamabench CMD -h" lists the flags. Targets must be
// loopback addresses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "tamabench:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "tamabench:", err)
		os.Exit(1)
	}
}

// usageError is a bad command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

const commands = "run, boot, compare, soak, interleave, profile, accel, costs, ceiling"

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("missing command: %s", commands)
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	case "boot":
		return bootCmd(ctx, args[1:], stdout, stderr)
	case "compare":
		return compareCmd(args[1:], stdout, stderr)
	case "soak":
		return soakCmd(ctx, args[1:], stdout, stderr)
	case "interleave":
		return interleaveCmd(ctx, args[1:], stdout, stderr)
	case "profile":
		return profileCmd(ctx, args[1:], stdout, stderr)
	case "accel":
		return accelCmd(args[1:], stdout, stderr)
	case "costs":
		return costsCmd(args[1:], stdout, stderr)
	case "ceiling":
		return ceilingCmd(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, "usage: tamabench "+strings.ReplaceAll(commands, ", ", "|")+" [flags]; tamabench CMD -h for flags")
		return nil
	}
	return usagef("unknown command %q: want %s", args[0], commands)
}

// parseFlags parses args into fs, writing usage to stderr, and turns flag
// errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}
