package netstack

import (
	"fmt"
	"sync"
	"testing"
)

// TestOnLinkChange: the callbacks hear carrier go and come back, in that
// order, after the NIC follows it.
func TestOnLinkChange(t *testing.T) {
	na, nb := newWire()
	t.Cleanup(func() { na.shutdown(); nb.shutdown() })
	st := newStack(t, na, Config{})
	var mu sync.Mutex
	var heard []bool
	st.OnLinkChange(func(up bool) {
		mu.Lock()
		heard = append(heard, up)
		mu.Unlock()
	})
	got := func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(heard)
	}
	setLink(false, na)
	eventually(t, "carrier loss heard", func() bool { return got() == "[false]" })
	if st.Netstack().CheckNIC(NICID) {
		t.Error("told of the loss before the NIC was disabled")
	}
	setLink(true, na)
	eventually(t, "carrier return heard", func() bool { return got() == "[false true]" })
}
