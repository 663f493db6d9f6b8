//go:build !tamago

package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
)

// TestKernel builds the image once and runs each check in its own QEMU.
func TestKernel(t *testing.T) {
	image := tamagotest.BuildImage(t, "./cmd/kernelcheck", "")
	for _, c := range []struct {
		name string
		run  func(*testing.T, string)
	}{
		{"IRQ", testIRQ}, {"LevelStorm", testLevelStorm}, {"Panic", testPanic},
		{"PowerOff", testPowerOff}, {"Sleep", testSleep}, {"Idle", testIdle},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, image) })
	}
}

// boot runs one check to the end and returns its console and QEMU status.
func boot(t *testing.T, image, check string) tamagotest.Result {
	r, accel := tamagotest.Boot(t, image, "pc", 2*time.Minute, "-append", check)
	t.Logf("%s under %s in %v:\n%s", check, accel, r.Elapsed.Round(time.Millisecond), r.Output)
	return r
}

func testIRQ(t *testing.T, image string) {
	r := boot(t, image, "irq")
	if !strings.Contains(r.Output, "kernelcheck: PASS") || r.ExitCode != 1 {
		t.Fatalf("exit %d", r.ExitCode)
	}
}

func testLevelStorm(t *testing.T, image string) {
	r := boot(t, image, "storm")
	if !strings.Contains(r.Output, "masked after 1000 unclaimed level interrupts") ||
		!strings.Contains(r.Output, "kernelcheck: PASS") || r.ExitCode != 1 {
		t.Fatalf("exit %d", r.ExitCode)
	}
}

func testPanic(t *testing.T, image string) {
	r := boot(t, image, "panic")
	for _, want := range []string{"panic: assignment to entry in nil map", "goroutine 1 [running]:", "main.main()"} {
		if !strings.Contains(r.Output, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if r.ExitCode != 2<<1|1 { // exit(2) through isa-debug-exit
		t.Errorf("exit %d, want 5", r.ExitCode)
	}
}

func testPowerOff(t *testing.T, image string) {
	r := boot(t, image, "poweroff")
	if r.ExitCode != 0 || strings.Contains(r.Output, "FAIL") {
		t.Fatalf("exit %d", r.ExitCode)
	}
}

// testSleep compares time.Sleep(1s) in the guest with the host's clock.
func testSleep(t *testing.T, image string) {
	vm := tamagotest.Start(t, image, []string{"-M", "pc"}, "-append", "sleep")
	start := vm.Await(t, "kernelcheck: sleep start", time.Minute)
	end := vm.Await(t, "kernelcheck: sleep end", time.Minute)
	got := end.At.Sub(start.At)
	errPct := (got.Seconds() - 1) * 100
	t.Logf("time.Sleep(1s) took %v of host time (%+.2f%%)", got, errPct)
	if math.Abs(errPct) > 1 {
		t.Fatalf("guest clock off by %+.2f%%", errPct)
	}
}

// testIdle checks that an idle guest halts, and logs QEMU's CPU use.
func testIdle(t *testing.T, image string) {
	vm := tamagotest.Start(t, image, []string{"-M", "pc"}, "-append", "idle")
	vm.Await(t, "kernelcheck: idle start", time.Minute)
	time.Sleep(500 * time.Millisecond)
	cpu0, t0 := vm.CPUTime(t), time.Now()
	time.Sleep(10 * time.Second)
	cpu1, t1 := vm.CPUTime(t), time.Now()
	end := vm.Await(t, "kernelcheck: idle end", time.Minute)
	t.Logf("QEMU used %v of CPU in %v of guest idle (%.1f%%); %s",
		cpu1-cpu0, t1.Sub(t0).Round(time.Millisecond), 100*(cpu1-cpu0).Seconds()/t1.Sub(t0).Seconds(), end.Text)
	if strings.Contains(end.Text, " 0 halts") {
		t.Fatal("the guest never halted")
	}
}
