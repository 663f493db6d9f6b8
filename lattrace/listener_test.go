package lattrace

import (
	"net"
	"testing"
)

// A traced listener's connections record each read that returns data, with
// its length, and nothing for a read that returns none.
func TestListenerRecordsReads(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tl := Listener(l)
	go func() {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return
		}
		c.Write([]byte("hello"))
		c.Close()
	}()
	c, err := tl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	Start(16, counter())
	defer Stop()
	buf := make([]byte, 64)
	reads, total := 0, 0
	for {
		n, err := c.Read(buf) // to EOF: that read returns no data
		if n > 0 {
			reads, total = reads+1, total+n
		}
		if err != nil {
			break
		}
	}
	got, _ := Snapshot(nil)
	sum := 0
	for _, e := range got {
		if e.Kind != KindAppRead {
			t.Errorf("event %+v, want app_read", e)
		}
		sum += int(e.Arg)
	}
	if len(got) != reads || sum != 5 || total != 5 {
		t.Errorf("events %+v after %d reads of %d bytes, want one app_read per read, 5 bytes in all", got, reads, total)
	}
}
