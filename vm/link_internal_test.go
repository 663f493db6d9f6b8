//go:build linux

package vm

import "testing"

// TestLinkStatsOfLoopback reads the counters of the test's own namespace's
// loopback, which needs no privilege (a tap's are read in the linkio and
// cmd/tamanet tests).
func TestLinkStatsOfLoopback(t *testing.T) {
	l, err := openLink("lo")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Stats(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenMissingLink(t *testing.T) {
	if _, err := openLink("no-such-link0"); err == nil {
		t.Fatal("no error")
	}
}
