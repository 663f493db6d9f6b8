//go:build tamago

package main

import (
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"tamanet/board"
	"tamanet/kernel"
)

type cell struct{ a, b int }

var (
	nilCell *cell
	divisor int
	// nonCanonical lies in the hole between the two canonical halves of
	// the 64-bit address space: using it is a general protection fault,
	// not a page fault.
	nonCanonical = (*cell)(unsafe.Add(unsafe.Pointer(nil), math.MinInt64)) // 0x8000000000000000
)

// checkFaults provokes the CPU exceptions Go code can cause: each must
// arrive as the runtime error Linux's signal handlers produce, and recover
// must stop it; the program goes on. A general protection fault is a panic
// only with debug.SetPanicOnFault, as on Linux (gpfault checks the
// default).
func checkFaults() error {
	for _, c := range []struct {
		what string
		f    func() int
		want string
	}{
		{"nil dereference (#PF)", func() int { return nilCell.b }, "runtime error: invalid memory address or nil pointer dereference"},
		{"division by zero (#DE)", func() int { return 1 / divisor }, "runtime error: integer divide by zero"},
		{"non-canonical address (#GP) with SetPanicOnFault", func() int {
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			return readNonCanonical()
		}, "runtime error: invalid memory address or nil pointer dereference"},
	} {
		for range 3 {
			got := func() (r any) {
				defer func() { r = recover() }()
				c.f()
				return nil
			}()
			if err, ok := got.(runtime.Error); !ok || err.Error() != c.want {
				return fmt.Errorf("%s: recovered %v, want %q", c.what, got, c.want)
			}
		}
		fmt.Printf("kernelcheck: %s recovered: %s\n", c.what, c.want)
	}
	return nil
}

// checkPreempt measures how late a 10 ms ticker's ticks come for 2 s
// alone, then for 2 s beside a goroutine that computes in a loop without
// function calls (only asynchronous preemption can stop it), and reports
// both: the difference is what the spinning goroutine costs the ticker, the
// first what the host's load costs it.
func checkPreempt() error {
	alone := tickLateness()
	var stop atomic.Bool
	var spun atomic.Uint64
	go func() {
		n := uint64(0)
		for !stop.Load() {
			n++
		}
		spun.Store(n)
	}()
	beside := tickLateness()
	stop.Store(true)
	for spun.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	s := kernel.TickStats()
	fmt.Printf("kernelcheck: preempt alone: %s\n", alone)
	fmt.Printf("kernelcheck: preempt beside a spinning goroutine (%d loops): %s; %d preemption requests, %d asynchronous\n",
		spun.Load(), beside, s.PreemptRequests, s.AsyncPreempts)
	return nil
}

// tickLateness receives a 10 ms ticker's ticks for 2 s and describes how
// late they came.
func tickLateness() string {
	const span, period = 2 * time.Second, 10 * time.Millisecond
	t := time.NewTicker(period)
	defer t.Stop()
	start := time.Now()
	last := start
	var late []time.Duration
	for time.Since(start) < span {
		<-t.C
		now := time.Now()
		late = append(late, now.Sub(last)-period)
		last = now
	}
	slices.Sort(late)
	return fmt.Sprintf("%d ticks of 10 ms in %v, lateness p50 %v p95 %v max %v", len(late),
		time.Since(start).Round(time.Millisecond), late[len(late)/2], late[len(late)*95/100], late[len(late)-1])
}

// checkIRQFault registers a handler on the PIT's interrupt that
// dereferences nil: a fault inside an interrupt handler ends the program,
// and the dump names the handler.
func checkIRQFault() error {
	gsi, trig, pol := kernel.ISARoute(0)
	return kernel.RequestIRQ("faulty-pit", gsi, trig, pol, func() bool { return nilCell.a == 0 })
}

// faultWithInterruptsOff dereferences nil with interrupts disabled
// (faults_amd64.s).
func faultWithInterruptsOff()

// readNonCanonical reads through nonCanonical: a general protection fault.
//
//go:noinline
func readNonCanonical() int { return nonCanonical.b }

// invalidOpcode executes UD2 (faults_amd64.s).
func invalidOpcode()

// exitBesideHeartbeat calls board.Exit(3) while another goroutine prints
// a heartbeat line every 100 ms, once two have been printed. Where
// isa-debug-exit ends QEMU this is an ordinary exit; elsewhere the host
// test checks that the CPU halts with interrupts off, so that no
// heartbeat, and nothing else, runs after it.
func exitBesideHeartbeat() {
	var beats atomic.Uint64
	go func() {
		for i := 0; ; i++ {
			fmt.Println("kernelcheck: heartbeat", i)
			beats.Add(1)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	for beats.Load() < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("kernelcheck: exiting with status 3")
	board.Exit(3)
}
