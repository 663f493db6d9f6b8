package model

import (
	"encoding/binary"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestConcurrentUse drives one real-clock model from four goroutines at
// once: a wire sending frames, an ISR plus a driver loop returning receive
// descriptors, a transmitter, and a link that flaps. Run under -race it
// checks the locking; the assertions check that every frame is accounted
// for exactly once.
func TestConcurrentUse(t *testing.T) {
	m := New(Config{MAC: testMAC, MemSize: 1 << 20})
	defer m.Close()
	const n, frames = 64, 2000
	setupRx(t, m, n, 2048, RCTL_EN|RCTL_SECRC|RCTL_BAM)
	tx := setupTx(t, m, n, TCTL_EN|TCTL_PSP)
	m.Write32(RDTR, 1)
	m.Write32(ITR, 100)
	m.Write32(IMS, ICR_RXT0|ICR_RXO|ICR_LSC|ICR_TXDW)

	kick := make(chan struct{}, 1)
	m.SetIRQHandler(func() {
		m.Read32(ICR)
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	var sent sync.Mutex
	txFrames := 0
	m.SetTransmitHandler(func([]byte) { sent.Lock(); txFrames++; sent.Unlock() })

	var wg sync.WaitGroup
	stop := make(chan struct{})
	results := make(chan [2]int, 1)

	wg.Add(1)
	go func() { // wire
		defer wg.Done()
		ok, bad := 0, 0
		f := ethFrame(testMAC, testMAC, 0x88B5, make([]byte, 46))
		for range frames {
			if m.Receive(f) == nil {
				ok++
			} else {
				bad++
				runtime.Gosched() // let the driver catch up
			}
		}
		results <- [2]int{ok, bad}
	}()
	wg.Add(1)
	go func() { // driver: hand consumed descriptors back, by registers only
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-kick:
			case <-time.After(time.Millisecond):
			}
			h := m.Read32(RDH)
			m.Write32(RDT, (h+n-1)%n)
		}
	}()
	_, txBuf := alloc(t, m, 60, 16)
	wg.Add(1)
	go func() { // transmitter; it alone touches the TX ring memory
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tail := m.Read32(TDT)
			tx.put(int(tail), txBuf, 60, 0, tEOP|tIFCS|tRS, 0)
			m.Write32(TDT, (tail+1)%n)
			if i%50 == 0 {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	wg.Add(1)
	go func() { // link flaps and statistics reads
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
			m.SetLink(i%4 != 0)
			m.Read32(GPRC)
			m.Read32(STATUS)
		}
	}()

	var res [2]int
	select {
	case res = <-results:
	case <-time.After(60 * time.Second):
		t.Fatal("wire goroutine stuck")
	}
	close(stop)
	wg.Wait()
	m.SetLink(true)

	st := m.Stats()
	if got := int(st.RxFrames); got != res[0] {
		t.Errorf("RxFrames = %d, Receive returned nil %d times", got, res[0])
	}
	if got := int(st.RxDropped); got != res[1] {
		t.Errorf("RxDropped = %d, Receive returned errors %d times", got, res[1])
	}
	if st.RxLinkDown+st.RxNoDescriptors != st.RxDropped {
		t.Errorf("drops not explained: %+v", st)
	}
	sent.Lock()
	defer sent.Unlock()
	if uint64(txFrames) != st.TxFrames || st.TxFrames+st.TxLinkDown != st.TxDescriptors {
		t.Errorf("TX: handler saw %d, stats %+v", txFrames, st)
	}
	t.Logf("received %d, refused %d, sent %d, interrupts %d", res[0], res[1], txFrames, st.Interrupts)
}

// FuzzModel feeds arbitrary register writes, descriptor contents, frames
// and time steps to a model with rings set up, and checks that it never
// panics and that every offered frame is accounted for.
func FuzzModel(f *testing.F) {
	f.Add([]byte{2, 60, 0, 1, 2, 3, 4, 5, 0, 0x18, 0x28, 9, 9, 9, 9, 4, 100})
	f.Add([]byte{0, 0x10, 0x28, 0, 0, 0, 0, 6, 1, 0xFF, 2, 20})
	f.Add([]byte{6, 0, 0x20, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 3})
	offsets := []uint32{CTRL, ICR, ICS, IMS, IMC, ITR, RCTL, TCTL, RDBAL, RDLEN, RDH, RDT, RDTR, RADV,
		TDBAL, TDLEN, TDH, TDT, TIDV, TADV, RXCSUM, MTA + 4*94, RAL(0), RAH(0), EERD, MDIC, GORCH, 0x1234}
	f.Fuzz(func(t *testing.T, ops []byte) {
		m := New(Config{MAC: testMAC, ManualClock: true, MemSize: 256 << 10})
		rx := setupRx(t, m, 8, 256, RCTL_EN|RCTL_BSIZE_256|RCTL_BAM|RCTL_UPE)
		tx := setupTx(t, m, 8, TCTL_EN|TCTL_PSP)
		m.SetIRQHandler(func() { m.Read32(ICR) })
		m.SetTransmitHandler(func(fr []byte) { _ = m.Receive(fr) })
		offered := 0
		next := func(k int) []byte {
			k = min(k, len(ops))
			b := ops[:k]
			ops = ops[k:]
			return b
		}
		for len(ops) > 0 {
			op := next(1)[0]
			switch op % 8 {
			case 0:
				b := next(5)
				if len(b) == 5 {
					m.Write32(offsets[int(b[0])%len(offsets)], binary.LittleEndian.Uint32(b[1:]))
				}
			case 1:
				if b := next(1); len(b) == 1 {
					m.Read32(offsets[int(b[0])%len(offsets)])
				}
			case 2, 3:
				b := next(1)
				if len(b) == 1 {
					offered++
					fr := next(int(b[0]) * 8)
					if op%8 == 3 {
						fr = append(ethFrame(testMAC, testMAC, 0x0800, nil), fr...)
					}
					_ = m.Receive(fr)
				}
			case 4:
				if b := next(1); len(b) == 1 {
					m.Advance(time.Duration(b[0]) * time.Microsecond)
				}
			case 5:
				b := next(4)
				if len(b) == 4 {
					_ = m.InjectRx(binary.LittleEndian.Uint16(b), b[2], b[3], b)
				}
			case 6: // scribble on a descriptor, as a buggy driver would
				b := next(17)
				if len(b) == 17 {
					ring := rx.ring
					if b[0]&1 == 1 {
						ring = tx.ring
					}
					copy(ring[16*int(b[0]>>1%8):], b[1:])
				}
			case 7:
				if b := next(1); len(b) == 1 {
					m.SetLink(b[0]&1 == 0)
				}
			}
		}
		st := m.Stats()
		// Every frame offered by the test or looped back from TX is either
		// received, filtered or refused.
		if got, want := st.RxFrames+st.RxFiltered+st.RxDropped, uint64(offered)+st.TxFrames; got != want {
			t.Fatalf("%d frames offered, %d accounted for: %+v", want, got, st)
		}
	})
}
