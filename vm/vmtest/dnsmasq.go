//go:build linux

package vmtest

import (
	"bufio"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tamanet/vm"
)

// DNSMasq is Debian's DNS/DHCP server running in a tap guest's network
// namespace, its log collected line by line.
type DNSMasq struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  []string
	more chan struct{} // closed and replaced on every log line
}

// StartDNSMasq runs dnsmasq (bin, from Tool) on tap0 in g's namespace with
// the given options besides its base ones (no configuration file, no
// daemon, log to stderr, DHCP exchanges logged); add --port=0 for DHCP
// without DNS. It stops when the test ends, and its log is printed then.
func StartDNSMasq(t testing.TB, g *vm.Guest, bin string, args ...string) *DNSMasq {
	t.Helper()
	base := []string{"--no-daemon", "--conf-file=/dev/null",
		"--user=root", "--interface=tap0", "--bind-interfaces", "--no-ping", "--log-dhcp", "--log-facility=-"}
	d := &DNSMasq{cmd: g.Command(bin, append(base, args...)...), more: make(chan struct{})}
	out, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			d.mu.Lock()
			d.log = append(d.log, s.Text())
			close(d.more)
			d.more = make(chan struct{})
			d.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		d.cmd.Wait()
		d.mu.Lock()
		t.Logf("dnsmasq:\n%s", strings.Join(d.log, "\n"))
		d.mu.Unlock()
	})
	return d
}

// Mark is the index the next log line will have.
func (d *DNSMasq) Mark() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.log)
}

// Await waits for a log line, from index from on, containing s.
func (d *DNSMasq) Await(t testing.TB, s string, from int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		d.mu.Lock()
		for _, l := range d.log[from:] {
			if strings.Contains(l, s) {
				d.mu.Unlock()
				return
			}
		}
		from = len(d.log)
		more := d.more
		d.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("dnsmasq logged no %q within %v", s, timeout)
		}
	}
}

// Reload makes dnsmasq read its hosts and options files again and waits,
// at most timeout, until it has read file.
func (d *DNSMasq) Reload(t testing.TB, file string, timeout time.Duration) {
	t.Helper()
	mark := d.Mark()
	// ip netns exec execs dnsmasq: the process is dnsmasq's.
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.Await(t, "read "+file, mark, timeout)
}
