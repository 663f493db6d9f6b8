package upcall

import "testing"

func TestSet(t *testing.T) {
	var s Set
	if f := s.Funcs(); f == nil || f.RX != nil || f.Link != nil || f.TxReady != nil || s.BatchEnd() != nil {
		t.Fatal("a zero Set has callbacks")
	}
	var got []string
	s.Attach(func([]byte, bool) { got = append(got, "rx") }, func(bool) { got = append(got, "link") }, nil)
	s.OnRxBatchEnd(func() { got = append(got, "end") })
	f := s.Funcs()
	f.RX(nil, false)
	f.Link(true)
	s.BatchEnd()()
	if f.TxReady != nil || len(got) != 3 || got[0] != "rx" || got[1] != "link" || got[2] != "end" {
		t.Fatalf("calls %v, TxReady %v", got, f.TxReady != nil)
	}
	s.TxReady() // none attached: nothing to call
	s.Link(false)
	if len(got) != 4 || got[3] != "link" {
		t.Fatalf("Link did not call the callback: %v", got)
	}
	s.Attach(nil, nil, nil)
	if s.Funcs().RX != nil {
		t.Fatal("Attach did not replace the callbacks")
	}
}
