//go:build !tamago

package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tamanet/toolchain/tamagotest"
	"tamanet/vm"
	"tamanet/vm/vmtest"
)

// TestKernel builds the image once and runs each check in its own QEMU.
func TestKernel(t *testing.T) {
	image := tamagotest.BuildImage(t, "./kernel/kernelcheck", "")
	for _, c := range []struct {
		name string
		run  func(*testing.T, string)
	}{
		{"IRQ", expect("irq", exitPass, "kernelcheck: PASS")},
		{"LevelStorm", expect("storm", exitPass, "masked after 1000 unclaimed level interrupts", "kernelcheck: PASS")},
		// An interrupt a device raised before its level-triggered line was
		// routed is not lost (QEMU's I/O APIC ignores that edge).
		{"Latched", expect("latched", exitPass, "kernelcheck: PASS")},
		{"Panic", expect("panic", exitFatal, "panic: assignment to entry in nil map", "goroutine 1 [running]:", "main.main()")},
		{"PowerOff", testPowerOff},
		// A sleep request the machine ignores is reported as failed only
		// after PowerOff's kind of bounded wait, not at once (QEMU acts on
		// a real one asynchronously, and the guest runs on meanwhile).
		{"SleepIgnored", expect("sleepignored", exitPass, "kernelcheck: PASS")},
		{"Sleep", testSleep}, {"Idle", testIdle}, {"WallClock", testWallClock},
		// With RDRAND, crypto/rand works and nothing is emulated.
		{"Rand", expect("rand", exitPass, "RDRAND emulated: false", "kernelcheck: PASS")},
		{"NoRDRAND", testNoRDRAND}, {"Entropy", testEntropy}, {"VirtioIRQ", testVirtioIRQ}, {"NoRAM", testNoRAM},
		{"Faults", expect("faults", exitPass,
			"nil dereference (#PF) recovered: runtime error: invalid memory address or nil pointer dereference",
			"division by zero (#DE) recovered: runtime error: integer divide by zero",
			"non-canonical address (#GP) with SetPanicOnFault recovered: runtime error: invalid memory address or nil pointer dereference",
			"kernelcheck: PASS")},
		{"Preempt", testPreempt},
		// A fault in an interrupt handler is not recovered, and the dump
		// names the handler.
		{"IRQFault", expect("irqfault", exitFatal,
			"kernel: interrupt handler faulty-pit (GSI ",
			"panic: runtime error: invalid memory address or nil pointer dereference",
			"main.checkIRQFault.func1")},
		// A fault with interrupts disabled cannot become a panic: the
		// runtime prints the exception, the stack and the registers and
		// exits.
		{"CLIFault", expect("clifault", exitFatal,
			"fatal: page fault (#PF) with interrupts disabled",
			"[signal SIGSEGV: segmentation violation code=0x1 addr=0x8 pc=",
			"main.faultWithInterruptsOff()",
			"rip    0x", "rflags 0x")},
		// Device interrupts (the amd64 package's entry, which calls
		// os/signal.Relay) and the runtime's tick land in assembly that
		// keeps a known value in every register; none may change. Before
		// Relay was assembly, its ABI wrapper loaded g into R14 and zeroed
		// X15.
		{"Registers", expect("registers", exitPass, "kernelcheck: registers unchanged", "kernelcheck: PASS")},
		// A general protection fault in ordinary Go code, without
		// debug.SetPanicOnFault, ends the program as it does on Linux.
		{"GPFault", expect("gpfault", exitFatal, "unexpected fault address", "fatal error: fault", "main.readNonCanonical(")},
		// An exception Go code does not cause (invalid opcode) is fatal
		// even in an ordinary goroutine with interrupts on.
		{"UDFault", expect("udfault", exitFatal,
			"fatal: invalid opcode (#UD)", "[signal SIGILL: illegal instruction", "main.invalidOpcode()", "rip    0x")},
		{"MSI", testMSI},
		{"ExitPowersOff", testExitPowersOff}, {"ExitHalts", testExitHalts}, {"FatalHalts", testFatalHalts},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, image) })
	}
}

// exitPass and exitFatal are QEMU's status for board.Exit(0) and for the
// runtime's exit(2) after a panic or a fatal error, through isa-debug-exit.
const (
	exitPass  = 0<<1 | 1
	exitFatal = 2<<1 | 1
)

// expect is a check that runs to its end on the pc machine and must leave
// QEMU with status exit and every one of wants on the console.
func expect(check string, exit int, wants ...string) func(*testing.T, string) {
	return func(t *testing.T, image string) { boot(t, image, check).Expect(t, exit, wants...) }
}

// onPC is check on the pc machine, with QEMU arguments added.
func onPC(image, check string, qemuArgs ...string) vm.Config {
	return vm.Config{Image: image, Machine: "pc", Cmdline: check, QEMUArgs: qemuArgs}
}

// boot runs check on the pc machine to its end.
func boot(t *testing.T, image, check string) vmtest.Result {
	t.Helper()
	r := vmtest.Run(t, onPC(image, check), 2*time.Minute)
	t.Logf("%s under %s", check, r.Accel)
	return r
}

// testMSI runs the MSI check (QEMU's edu device) and the MSI-X check (an
// e1000e, on a user-net backend that reaches nothing) on the pc and q35
// machines.
func testMSI(t *testing.T, image string) {
	for _, machine := range []string{"pc", "q35"} {
		for _, c := range []struct {
			check  string
			device []string
			wants  []string
		}{
			{"msi", []string{"-device", "edu"}, []string{"kernelcheck: msi: 3 interrupts on vector"}},
			{"msix", []string{"-netdev", "user,id=msix,restrict=on", "-device", "e1000e,netdev=msix,romfile="},
				[]string{"pending while masked, no interrupt", "kernelcheck: msix: rx handler 2, tx handler 2"}},
		} {
			t.Run(machine+"/"+c.check, func(t *testing.T) {
				cfg := vm.Config{Image: image, Machine: machine, Cmdline: c.check, Network: vm.NoNIC, QEMUArgs: c.device}
				r := vmtest.Run(t, cfg, 2*time.Minute)
				r.Expect(t, exitPass, append(c.wants, "kernelcheck: PASS")...)
				for _, l := range strings.Split(r.Output, "\n") {
					if strings.HasPrefix(l, "kernelcheck: msi") {
						t.Log(l)
					}
				}
			})
		}
	}
}

func testPowerOff(t *testing.T, image string) {
	r := boot(t, image, "poweroff")
	if r.ExitCode != 0 || strings.Contains(r.Output, "FAIL") {
		t.Fatalf("exit %d", r.ExitCode)
	}
}

// testSleep: over five time.Sleep(1s) the guest checks its clock against
// the ACPI PM timer (checkSleep, which passes or fails the check), and the
// guest time they took is at least 5 s. The rate against the host's clock
// is logged: the guest prints its elapsed time at each tick and the host
// notes when each line arrives; a line can only arrive late, never early,
// so it is taken between the least delayed of the first two lines and of
// the last two, but a loaded host delays lines by as much as it likes.
func testSleep(t *testing.T, image string) {
	g := vmtest.Start(t, onPC(image, "sleep"))
	var host []time.Time
	var guest []time.Duration
	for i := 0; i <= 5; i++ {
		l := vmtest.Await(t, g, fmt.Sprintf("kernelcheck: tick %d ", i), 0, time.Minute)
		f := strings.Fields(l.Text)
		ns, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			t.Fatalf("bad tick line %q", l.Text)
		}
		host, guest = append(host, l.At), append(guest, time.Duration(ns))
	}
	offset := func(i int) time.Duration { return host[i].Sub(host[0]) - guest[i] }
	least := func(i, j int) int {
		if offset(j) < offset(i) {
			return j
		}
		return i
	}
	a, b := least(0, 1), least(4, 5)
	hostSpan, guestSpan := host[b].Sub(host[a]), guest[b]-guest[a]
	rateErr := (guestSpan.Seconds()/hostSpan.Seconds() - 1) * 100
	var over, delays []string
	for i := 1; i <= 5; i++ {
		over = append(over, (guest[i] - guest[i-1] - time.Second).Round(10*time.Microsecond).String())
	}
	for i := range host {
		delays = append(delays, (offset(i) - offset(a)).Round(time.Millisecond).String())
	}
	// Logged, not asserted: the host reads the lines as late as its load
	// makes it. The guest compares its clock with the PM timer itself.
	t.Logf("guest clock over %v of host time (ticks %d to %d): %+.3f%%; lines' delays %v; time.Sleep(1s) overshoot by the guest clock: %v",
		hostSpan.Round(time.Millisecond), a, b, rateErr, delays, over)
	pm := vmtest.Await(t, g, "kernelcheck: clock against the ACPI PM timer", 0, time.Minute)
	t.Log(pm.Text)
	vmtest.Await(t, g, "kernelcheck: PASS", 0, time.Minute)
	// A sleep never returns early, whatever the load.
	if guest[5]-guest[0] < 5*time.Second {
		t.Fatalf("five time.Sleep(1s) took %v of guest time", guest[5]-guest[0])
	}
}

// maxWallClockError bounds the guest's wall clock against the host's at
// boot: QEMU starts the CMOS RTC at the host's time less its fraction of
// a second (mc146818rtc.c keeps whole seconds) and runs it on the host's
// clock; the RTC counts whole seconds and the kernel takes the middle of
// the one it reads. So the guest starts 1.5 s behind to 0.5 s ahead.
const maxWallClockError = 2 * time.Second

// testWallClock: the guest's time.Now, set from the CMOS RTC at boot, is
// within maxWallClockError of the host's clock when the guest prints it,
// on each machine (q35's and microvm's RTC are the same chip, found
// through their own FADT or none). The host does not know that moment
// exactly, only that it lies between QEMU's start and the line's arrival,
// however loaded the host is: the guest's time must lie in that window,
// widened by the bound.
func testWallClock(t *testing.T, image string) {
	for _, machine := range []string{"pc", "q35", "microvm"} {
		t.Run(machine, func(t *testing.T) {
			// No NIC: microvm has no PCI bus for the e1000.
			checkWallClock(t, vm.Config{Image: image, Machine: machine, Cmdline: "wallclock", Network: vm.NoNIC})
		})
	}
}

func checkWallClock(t *testing.T, cfg vm.Config) {
	g := vmtest.Start(t, cfg)
	l := vmtest.Await(t, g, "kernelcheck: wall clock ", 0, time.Minute)
	f := strings.Fields(l.Text)
	guest, err := time.Parse(time.RFC3339Nano, f[3])
	if err != nil {
		t.Fatalf("bad wall clock line %q: %v", l.Text, err)
	}
	lo, hi := g.Start.Add(-maxWallClockError), l.At.Add(maxWallClockError)
	t.Logf("%s: guest clock %v after QEMU's start, %v before the line arrived (host clock)",
		l.Text, guest.Sub(g.Start).Round(time.Millisecond), l.At.Sub(guest).Round(time.Millisecond))
	if guest.Before(lo) || guest.After(hi) {
		t.Errorf("guest wall clock %v outside [%v, %v]: QEMU's start and the line's arrival on the host's clock, widened by %v",
			guest.Format(time.RFC3339Nano), g.Start.Format(time.RFC3339Nano), l.At.Format(time.RFC3339Nano), maxWallClockError)
	}
	vmtest.Await(t, g, "kernelcheck: PASS", 0, time.Minute)
}

// testIdle checks that an idle guest halts, and logs QEMU's CPU use.
func testIdle(t *testing.T, image string) {
	g := vmtest.Start(t, onPC(image, "idle"))
	vmtest.Await(t, g, "kernelcheck: idle start", 0, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cpuTime := func() time.Duration {
		t.Helper()
		cpu, err := g.CPUTime(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cpu
	}
	time.Sleep(500 * time.Millisecond)
	cpu0, t0 := cpuTime(), time.Now()
	time.Sleep(10 * time.Second)
	cpu1, t1 := cpuTime(), time.Now()
	end := vmtest.Await(t, g, "kernelcheck: idle end", 0, time.Minute)
	t.Logf("QEMU used %v of CPU in %v of guest idle (%.1f%%); %s",
		cpu1-cpu0, t1.Sub(t0).Round(time.Millisecond), 100*(cpu1-cpu0).Seconds()/t1.Sub(t0).Seconds(), end.Text)
	if strings.Contains(end.Text, " 0 halts") {
		t.Fatal("the guest never halted")
	}
}

// testNoRDRAND: without RDRAND the board emulates it, warns, and
// crypto/rand still gives distinct output, before and after the kernel
// rewrites the IDT.
func testNoRDRAND(t *testing.T, image string) {
	r := vmtest.Run(t, onPC(image, "rand", "-cpu", "qemu64"), time.Minute)
	r.Expect(t, exitPass, "board: WARNING: the CPU lacks RDRAND", "RDRAND emulated: true", "kernelcheck: PASS")
}

// testEntropy: on a CPU without RDRAND, the virtio-rng driver keys the
// generator crypto/rand uses, on every transport (virtioRNGs).
func testEntropy(t *testing.T, image string) {
	for _, c := range virtioRNGs(image) {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Cmdline = "entropy"
			r := vmtest.Run(t, c.cfg, time.Minute)
			r.Expect(t, exitPass, "board: WARNING: the CPU lacks RDRAND", "over "+c.transport, "kernelcheck: PASS")
			logVirtio(t, r)
		})
	}
}

// virtioRNG is a machine with a virtio-rng on one transport.
type virtioRNG struct {
	name, transport string
	cfg             vm.Config
}

// virtioRNGs are the virtio-rng devices and machines the virtio checks run
// on: the transitional PCI device (modern capabilities preferred),
// legacy-only and modern-only PCI devices, and microvm's virtio-mmio in
// its legacy (QEMU's default) and version 2 layouts, found in its DSDT
// (QEMU appends virtio_mmio.device= to the command line only with
// acpi=off, which the kernel cannot boot without).
func virtioRNGs(image string) []virtioRNG {
	noRDRAND := []string{"-cpu", "qemu64,+pdpe1gb"}
	pc := func(dev string) vm.Config { return onPC(image, "", append(noRDRAND, "-device", dev)...) }
	microvm := func(extra ...string) vm.Config {
		return vm.Config{Image: image, Machine: "microvm", Network: vm.NoNIC,
			QEMUArgs: append(append(noRDRAND, "-device", "virtio-rng-device"), extra...)}
	}
	return []virtioRNG{
		{"Transitional", "pci-modern", pc("virtio-rng-pci")},
		{"LegacyOnly", "pci-legacy", pc("virtio-rng-pci,disable-modern=on")},
		{"ModernOnly", "pci-modern", pc("virtio-rng-pci,disable-legacy=on")},
		{"MicrovmLegacy", "mmio-v1", microvm()},
		{"MicrovmV2", "mmio-v2", microvm("-global", "virtio-mmio.force-legacy=false")},
	}
}

// logVirtio logs what the guest said about discovery and the device.
func logVirtio(t *testing.T, r vmtest.Result) {
	for _, l := range strings.Split(r.Output, "\n") {
		for _, p := range []string{"kernelcheck: entropy", "kernelcheck: virtio", "kernelcheck: command line"} {
			if strings.HasPrefix(l, p) {
				t.Log(l)
			}
		}
	}
}

// testVirtioIRQ: the virtio-rng's used buffer notification arrives on
// the interrupt line discovery named, on every transport (INTx on PCI,
// the DSDT's GSI on microvm's second I/O APIC), and AckInterrupt
// acknowledges it.
//
// On pc the PCI devices boot with SeaBIOS: qboot writes an Interrupt Line
// that is not where QEMU's PIIX3 delivers INTA of slot 4 (10 written, 11
// wired: qboot seems to swizzle slots one off from QEMU's PIRQ mapping,
// which slot 3, the e1000's, survives), so on qboot the INTx route must
// come from the PIRQ registers, not from the Interrupt Line.
func testVirtioIRQ(t *testing.T, image string) {
	for _, c := range virtioRNGs(image) {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Cmdline = "virtioirq"
			if c.cfg.Machine == "pc" {
				c.cfg.Firmware = "seabios"
			}
			r := vmtest.Run(t, c.cfg, time.Minute)
			r.Expect(t, exitPass, "over "+c.transport+" on GSI", "kernelcheck: PASS")
			logVirtio(t, r)
		})
	}
}

// testNoRAM: too little RAM above the runtime's start gets a clear message.
func testNoRAM(t *testing.T, image string) {
	cfg := onPC(image, "poweroff")
	cfg.Memory = "300M"
	vmtest.Run(t, cfg, time.Minute).Expect(t, 255, "tamanet: the PVH memory map has less than 64 MiB of RAM")
}

// exitLine is what board.Exit(3) prints on a machine without
// isa-debug-exit, up to what it does next.
const exitLine = "board: exit status 3 not reported: no isa-debug-exit; "

// testExitPowersOff: without isa-debug-exit, board.Exit says so and asks
// for ACPI soft-off, which ends QEMU (status 0) on the pc machine.
func testExitPowersOff(t *testing.T, image string) {
	cfg := onPC(image, "exit")
	cfg.NoDebugExit = true
	vmtest.Run(t, cfg, 2*time.Minute).Expect(t, 0, exitLine+"ACPI soft-off requested, CPU halted with interrupts off")
}

// testExitHalts: on a machine with neither isa-debug-exit nor ACPI
// soft-off (microvm's hardware-reduced ACPI has no PM1a control block),
// board.Exit halts the CPU with interrupts disabled, so the heartbeat
// goroutine, and anything else, never runs again.
func testExitHalts(t *testing.T, image string) {
	const halted = exitLine + "CPU halted with interrupts off"
	g := startWithoutExit(t, image, "exit")
	vmtest.Await(t, g, "kernelcheck: exiting with status 3", 0, time.Minute)
	vmtest.Await(t, g, halted, 0, time.Minute)
	awaitHalted(t, g)
	// Whatever the console printed before the halt has been read or is on
	// its way; none of it may be a heartbeat after the exit.
	if g.Console.Ended() {
		t.Fatal("QEMU ended")
	}
	lines := g.Console.Lines()
	i := slices.IndexFunc(lines, func(l vm.Line) bool { return strings.Contains(l.Text, halted) })
	for _, l := range lines[i+1:] {
		if strings.Contains(l.Text, "heartbeat") {
			t.Errorf("after the exit: %s", l.Text)
		}
	}
}

// testFatalHalts: a fatal fault on a machine that cannot report a status
// still stops it, after the runtime's report.
func testFatalHalts(t *testing.T, image string) {
	g := startWithoutExit(t, image, "udfault")
	vmtest.Await(t, g, "fatal: invalid opcode (#UD)", 0, time.Minute)
	vmtest.Await(t, g, "board: exit status 2 not reported: no isa-debug-exit; CPU halted with interrupts off", 0, time.Minute)
	awaitHalted(t, g)
}

// startWithoutExit boots check on a microvm without isa-debug-exit (and
// without a NIC, which needs PCI), with a QMP socket.
func startWithoutExit(t *testing.T, image, check string) *vm.Guest {
	return vmtest.Start(t, vm.Config{Image: image, Machine: "microvm", Cmdline: check,
		Network: vm.NoNIC, NoDebugExit: true, QMP: true})
}

// haltedWithIF matches HMP "info registers": RFLAGS and the halted state.
var haltedWithIF = regexp.MustCompile(`RFL=([0-9a-f]+) .* HLT=(\d)`)

// awaitHalted waits, with a bound, until QEMU's register dump shows the
// CPU halted (HLT=1) with RFLAGS.IF clear: a state only an NMI could
// leave, so nothing runs any more.
func awaitHalted(t *testing.T, g *vm.Guest) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q, err := g.QMP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const rflagsIF = 1 << 9
	for {
		regs, err := q.HMP("info registers")
		if err != nil {
			t.Fatal(err)
		}
		if m := haltedWithIF.FindStringSubmatch(regs); m != nil {
			rflags, _ := strconv.ParseUint(m[1], 16, 64)
			if m[2] == "1" && rflags&rflagsIF == 0 {
				t.Logf("halted, RFLAGS %#x", rflags)
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the CPU is not halted with interrupts off:\n%s", regs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// preemptLine is one of checkPreempt's reports.
var preemptLine = regexp.MustCompile(`preempt (alone|beside).*: (\d+) ticks .* lateness p50 ([^\s;]+) p95 ([^\s;]+) max ([^\s;]+)(; (\d+) preemption requests, (\d+) asynchronous)?`)

// testPreempt: a goroutine spinning without function calls does not keep
// a 10 ms ticker from running: the timer tick preempts it asynchronously
// after its 10 ms time slice. Without preemption the ticker never runs
// again and the check never ends. The test asserts those events (ticks
// received while the spinner ran, asynchronous preemptions counted); how
// late the ticks came is logged beside their lateness without the spinner,
// since a loaded host stalls a busy emulator as long as it likes.
func testPreempt(t *testing.T, image string) {
	r := boot(t, image, "preempt")
	ms := preemptLine.FindAllStringSubmatch(r.Output, -1)
	if len(ms) != 2 || r.ExitCode != exitPass {
		t.Fatalf("no preemption reports, exit %d", r.ExitCode)
	}
	alone, err1 := time.ParseDuration(ms[0][4])
	beside, err2 := time.ParseDuration(ms[1][4])
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	ticksAlone, _ := strconv.Atoi(ms[0][2])
	ticks, _ := strconv.Atoi(ms[1][2])
	async, _ := strconv.Atoi(ms[1][8])
	t.Logf("beside the spinner: %d ticks in 2 s (%d alone), lateness p95 %v (alone %v), %d asynchronous preemptions", ticks, ticksAlone, beside, alone, async)
	if ticks < 2 || async == 0 {
		t.Errorf("want ticks while the spinner ran and asynchronous preemptions")
	}
}
