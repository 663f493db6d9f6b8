//go:build tamago

// Command rtcheck exercises the GOOS=tamago runtime as a Linux process
// (tamago's user/linux overlay): scheduling, garbage collection, timers,
// maps, crypto, interrupt-style signal delivery, faults that become
// panics, preemption, CPU profiling, the read-only view of the host's
// GOROOT (run it with GOROOT/src as working directory) and localhost
// without DNS. It prints one line per check and exits non-zero if any
// fails.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	_ "unsafe" // go:linkname

	_ "github.com/usbarmory/tamago/user/linux"
)

type check struct {
	name string
	run  func() error
}

func main() {
	checks := []check{
		{"goroutines", checkGoroutines},
		{"gomaxprocs", checkGOMAXPROCS},
		{"gc", checkGC},
		{"sleep", checkSleep},
		{"ticker", checkTicker},
		{"maps", checkMaps},
		{"sha256", checkSHA256},
		{"aes-gcm", checkAESGCM},
		{"crypto-rand", checkRand},
		{"signal-relay", checkRelay},
		{"faults", checkFaults},
		{"preempt", checkPreempt},
		{"cpu-profile", checkCPUProfile},
		{"args", checkArgs},
		{"host-files", checkHostFiles},
		{"localhost", checkLocalhost},
		{"clock-in-syscall", checkClockInSyscall},
	}
	failed := 0
	for _, c := range checks {
		start := time.Now()
		if err := c.run(); err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", c.name, err)
			continue
		}
		fmt.Printf("ok   %s (%v)\n", c.name, time.Since(start).Round(time.Millisecond))
	}
	fmt.Printf("rtcheck: %d passed, %d failed\n", len(checks)-failed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// checkGoroutines runs a pipeline of goroutines over unbuffered and
// buffered channels, with a WaitGroup and a Mutex.
func checkGoroutines() error {
	const workers, items = 64, 10000
	in := make(chan int)
	out := make(chan int, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range in {
				mu.Lock()
				seen++
				mu.Unlock()
				out <- v * 2
			}
		}()
	}
	go func() {
		for i := range items {
			in <- i
		}
		close(in)
	}()
	go func() { wg.Wait(); close(out) }()
	sum := 0
	for v := range out {
		sum += v
	}
	if want := items * (items - 1); sum != want || seen != items {
		return fmt.Errorf("sum %d seen %d, want %d and %d", sum, seen, want, items)
	}
	return nil
}

// checkGOMAXPROCS: the port runs one M, so GOMAXPROCS is 1 and programs
// that ask for more still schedule every goroutine.
func checkGOMAXPROCS() error {
	if n := runtime.GOMAXPROCS(0); n != 1 {
		return fmt.Errorf("GOMAXPROCS is %d, want 1", n)
	}
	if n := runtime.NumCPU(); n != 1 {
		return fmt.Errorf("NumCPU is %d, want 1", n)
	}
	return checkGoroutines()
}

// checkGC allocates over 2 GiB in total while keeping a small live set,
// which only works if collection reclaims memory (the overlay has 512 MiB).
func checkGC() error {
	const total = 2200 << 20
	const chunk = 64 << 10
	live := make([][]byte, 64)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.NumGC
	maxHeap := uint64(0)
	for i := 0; i < total/chunk; i++ {
		b := make([]byte, chunk)
		b[0], b[len(b)-1] = byte(i), byte(i>>8)
		live[i%len(live)] = b
		if i%4096 == 0 {
			runtime.ReadMemStats(&ms)
			maxHeap = max(maxHeap, ms.HeapAlloc)
		}
	}
	runtime.ReadMemStats(&ms)
	if ms.TotalAlloc < total {
		return fmt.Errorf("TotalAlloc %d < %d", ms.TotalAlloc, total)
	}
	if ms.NumGC-before < 10 {
		return fmt.Errorf("only %d collections", ms.NumGC-before)
	}
	if maxHeap > 256<<20 {
		return fmt.Errorf("live heap reached %d MiB", maxHeap>>20)
	}
	fmt.Printf("     gc: %d MiB allocated, %d collections, peak heap %d MiB\n",
		ms.TotalAlloc>>20, ms.NumGC-before, maxHeap>>20)
	return nil
}

func checkSleep() error {
	for _, d := range []time.Duration{time.Millisecond, 20 * time.Millisecond, 200 * time.Millisecond} {
		start := time.Now()
		time.Sleep(d)
		got := time.Since(start)
		// Never short; long only on a loaded host, so the upper bound
		// only catches a sleep that never ends.
		if got < d || got > d+5*time.Second {
			return fmt.Errorf("Sleep(%v) took %v", d, got)
		}
	}
	return nil
}

func checkTicker() error {
	const period, n = 10 * time.Millisecond, 20
	t := time.NewTicker(period)
	defer t.Stop()
	start := time.Now()
	for range n {
		<-t.C
	}
	got := time.Since(start)
	// Ticks are never early; late ones only mean a loaded host, so the
	// upper bound only catches a ticker that stopped.
	if got < period*n-period || got > period*n+5*time.Second {
		return fmt.Errorf("%d ticks of %v took %v", n, period, got)
	}
	return nil
}

func checkMaps() error {
	m := make(map[string]int)
	for i := range 100000 {
		m[fmt.Sprint(i)] = i
	}
	for i := 0; i < 100000; i += 2 {
		delete(m, fmt.Sprint(i))
	}
	if len(m) != 50000 || m["99999"] != 99999 {
		return fmt.Errorf("len %d, m[99999]=%d", len(m), m["99999"])
	}
	return nil
}

func checkSHA256() error {
	sum := sha256.Sum256([]byte("abc"))
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("sha256(abc) = %s", got)
	}
	return nil
}

// checkAESGCM checks the NIST SP 800-38D test case 3 vector (AES-128).
func checkAESGCM() error {
	key, _ := hex.DecodeString("feffe9928665731c6d6a8f9467308308")
	iv, _ := hex.DecodeString("cafebabefacedbaddecaf888")
	pt, _ := hex.DecodeString("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255")
	want, _ := hex.DecodeString("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f59854d5c2af327cd64a62cf35abd2ba6fab4")
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	if got := gcm.Seal(nil, iv, pt, nil); !bytes.Equal(got, want) {
		return fmt.Errorf("ciphertext %x", got)
	}
	return nil
}

func checkRand() error {
	a, b := make([]byte, 32), make([]byte, 32)
	rand.Read(a)
	rand.Read(b)
	if bytes.Equal(a, b) || bytes.Equal(a, make([]byte, 32)) {
		return fmt.Errorf("crypto/rand repeats: %x %x", a, b)
	}
	return nil
}

// checkRelay delivers signals the way an interrupt service routine does,
// through os/signal.Relay, and expects each on the Notify channel.
func checkRelay() error {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTRAP)
	defer signal.Stop(c)
	for i := range 100 {
		// Let the receiver park, as it does between interrupts.
		for !signal.Waiting() {
			runtime.Gosched()
		}
		signal.Relay(syscall.SIGTRAP)
		select {
		case s := <-c:
			if s != syscall.SIGTRAP {
				return fmt.Errorf("got %v", s)
			}
		case <-time.After(time.Second):
			return fmt.Errorf("relay %d not delivered", i)
		}
	}
	return nil
}

// checkArgs: under an OS loader the runtime takes argv and envp from it.
func checkArgs() error {
	if len(os.Args) < 1 {
		return fmt.Errorf("no os.Args")
	}
	if os.Getenv("RTCHECK_ENV") != "present" {
		return fmt.Errorf("RTCHECK_ENV=%q, want present", os.Getenv("RTCHECK_ENV"))
	}
	return nil
}

// checkHostFiles: in Linux process mode the Go tree the program names as
// runtime.GOROOT() is readable at its own path and read-only, the host's
// working directory inside it is the program's, the directories on the
// way list only the next one, nothing else of the host shows, and the
// in-memory tree still takes writes.
func checkHostFiles() error {
	goroot := runtime.GOROOT()
	v, err := os.ReadFile(filepath.Join(goroot, "VERSION"))
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(v), runtime.Version()+"\n") {
		return fmt.Errorf("GOROOT/VERSION starts %.20q, the runtime is %s", v, runtime.Version())
	}
	if wd, err := os.Getwd(); err != nil || wd != filepath.Join(goroot, "src") {
		return fmt.Errorf("working directory %q (%v), want GOROOT/src", wd, err)
	}
	if fi, err := os.Stat("../VERSION"); err != nil || fi.Size() != int64(len(v)) {
		return fmt.Errorf("relative stat ../VERSION: %v", err)
	}
	names, err := os.ReadDir(goroot)
	if err != nil || !slices.ContainsFunc(names, func(e os.DirEntry) bool { return e.Name() == "src" && e.IsDir() }) {
		return fmt.Errorf("ReadDir(GOROOT) has no src directory (%v)", err)
	}
	if up, err := os.ReadDir(filepath.Dir(goroot)); err != nil || len(up) != 1 || up[0].Name() != filepath.Base(goroot) {
		return fmt.Errorf("GOROOT's parent lists %v (%v), want only %s", up, err, filepath.Base(goroot))
	}
	for what, err := range map[string]error{
		"create":    os.WriteFile(filepath.Join(goroot, "rtcheck"), nil, 0o644),
		"mkdir":     os.Mkdir(filepath.Join(goroot, "rtcheck"), 0o755),
		"remove":    os.Remove(filepath.Join(goroot, "VERSION")),
		"chmod":     os.Chmod(filepath.Join(goroot, "VERSION"), 0o777),
		"mkdir-way": os.Mkdir(filepath.Dir(goroot), 0o755),
	} {
		if !errors.Is(err, syscall.EROFS) {
			return fmt.Errorf("%s in GOROOT: %v, want %v", what, err, syscall.EROFS)
		}
	}
	if _, err := os.Stat("/proc/self/exe"); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("host file outside GOROOT: stat /proc/self/exe: %v", err)
	}
	if err := os.WriteFile("/tmp/rtcheck", v, 0o644); err != nil {
		return err
	}
	if back, err := os.ReadFile("/tmp/rtcheck"); err != nil || !bytes.Equal(back, v) {
		return fmt.Errorf("in-memory /tmp/rtcheck read back %q, %v", back, err)
	}
	return nil
}

// checkLocalhost: localhost names (RFC 6761) are the loopback addresses
// without DNS, which the port's fake network does not have, and a server
// listens on one.
func checkLocalhost() error {
	for _, name := range []string{"localhost", "localhost.", "Api.Localhost"} {
		addrs, err := net.LookupHost(name)
		if err != nil || !slices.Equal(addrs, []string{"127.0.0.1", "::1"}) {
			return fmt.Errorf("LookupHost(%q) = %v, %v; want [127.0.0.1 ::1]", name, addrs, err)
		}
	}
	if _, err := net.LookupHost("localhost.example"); err == nil {
		return errors.New("localhost.example resolved: only names under localhost are local")
	}
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		return err
	}
	return l.Close()
}

// The runtime's system call bracket and clock, which packages outside
// the standard library reach by linkname too.
//
//go:linkname entersyscall runtime.entersyscall
func entersyscall()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

//go:linkname nanotime runtime.nanotime
func nanotime() int64

// checkClockInSyscall: the runtime reads its clock between entersyscall
// and exitsyscall, where no stack may grow, as the runtime's own tests do
// (fakeSyscall); the board's clock is a Go function, so the runtime must
// not call it on the goroutine's stack there, or it throws "stack split
// at bad time".
func checkClockInSyscall() error {
	if d := clockInSyscall(); d < 0 {
		return fmt.Errorf("clock went back %v", time.Duration(d))
	}
	return nil
}

//go:nosplit
func clockInSyscall() int64 {
	entersyscall()
	t0 := nanotime()
	t1 := nanotime()
	exitsyscall()
	return t1 - t0
}

type pair struct{ a, b int }

var (
	nilPair *pair
	zero    int
)

// checkFaults: a nil dereference and an integer division by zero are
// runtime errors that recover stops, as on Linux (the port's SIGSEGV and
// SIGFPE handlers; CPU exceptions on bare metal).
func checkFaults() error {
	want := map[string]func() int{
		"runtime error: invalid memory address or nil pointer dereference": func() int { return nilPair.b },
		"runtime error: integer divide by zero":                            func() int { return 7 / zero },
	}
	for msg, f := range want {
		got := func() (r any) {
			defer func() { r = recover() }()
			f()
			return nil
		}()
		err, ok := got.(runtime.Error)
		if !ok || err.Error() != msg {
			return fmt.Errorf("recovered %v, want %q", got, msg)
		}
	}
	return nil
}

// checkPreempt: a goroutine that computes without function calls is
// preempted (SIGPROF from the interval timer is the tick), so a sleeper
// wakes on time and stops it; without preemption this never returns.
func checkPreempt() error {
	var stop atomic.Bool
	done := make(chan uint64)
	go func() {
		n := uint64(0)
		for !stop.Load() {
			n++
		}
		done <- n
	}()
	start := time.Now()
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	n := <-done
	if d := time.Since(start); n == 0 || d > time.Second {
		return fmt.Errorf("the sleeper woke after %v beside a spinning goroutine (%d loops)", d, n)
	}
	return nil
}

// checkCPUProfile takes a CPU profile of a busy loop: the tick (SIGPROF from
// an interval timer in a Linux process) must sample it, and the profile
// must name the loop. The timer counts CPU time, so the loop runs until 20
// samples were taken (a loaded host gives the process little of it).
func checkCPUProfile() error {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return err
	}
	start := runtime.ReadTickStats()
	n := 0
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		n += spinFor(50 * time.Millisecond)
		if runtime.ReadTickStats().ProfileSamples >= start.ProfileSamples+20 {
			break
		}
	}
	pprof.StopCPUProfile()
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		return err
	}
	var raw bytes.Buffer
	if _, err := raw.ReadFrom(zr); err != nil {
		return err
	}
	ts := runtime.ReadTickStats()
	if ts.ProfileSamples < start.ProfileSamples+20 || !strings.Contains(raw.String(), "main.spinFor") {
		return fmt.Errorf("%+v, %d bytes of profile (%d): no main.spinFor", ts, raw.Len(), n)
	}
	return nil
}

// spinFor computes for d without blocking.
func spinFor(d time.Duration) int {
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 10000 {
			n += i % 7
		}
	}
	return n
}
