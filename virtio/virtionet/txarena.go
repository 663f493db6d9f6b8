package virtionet

// txArena is the DMA memory transmitted frames are copied into, handed out
// as one contiguous piece per frame (header and frame together, so a
// chain is one descriptor, or two with the header apart) and used as a
// ring in allocation order: a piece is reused once it and every piece
// allocated before it are done. Devices complete transmit chains in
// order in practice (QEMU does); one finished early just waits for its
// elders. A 64 KiB TSO frame takes one descriptor instead of one per
// page, so the queue holds as many frames as the memory does.
type txArena struct {
	mem []byte
	bus uint64
	// head is the next byte to hand out, tail the oldest in use; with
	// pieces in use, head == tail means full.
	head, tail int
	// pieces are the pieces in use, oldest first, in a circular list.
	pieces      []txPiece
	first, used int
}

// txPiece is one piece in use: where it ends (the arena's tail moves
// there when it is released) and whether its frame is done.
type txPiece struct {
	end  int32
	done bool
}

// txAlign keeps every piece cache-line aligned.
const txAlign = 64

func newTxArena(mem []byte, bus uint64, maxPieces int) txArena {
	return txArena{mem: mem, bus: bus, pieces: make([]txPiece, maxPieces)}
}

// place finds room for n bytes: the offset, or false.
func (a *txArena) place(n int) (int, bool) {
	n = alignUp(n, txAlign)
	switch {
	case a.used == len(a.pieces):
		return 0, false
	case a.used == 0:
		a.head, a.tail = 0, 0
		return 0, n <= len(a.mem)
	case a.head > a.tail:
		// Free: the end of the memory, else its start.
		if n <= len(a.mem)-a.head {
			return a.head, true
		}
		return 0, n <= a.tail
	}
	// Wrapped: free between head and tail.
	return a.head, n <= a.tail-a.head
}

// fits reports whether n bytes could be handed out now.
func (a *txArena) fits(n int) bool {
	_, ok := a.place(n)
	return ok
}

// alloc hands out n bytes: their offset and the piece's number for
// release. Call only when fits(n).
func (a *txArena) alloc(n int) (off int, piece int) {
	off, _ = a.place(n)
	a.head = off + alignUp(n, txAlign)
	piece = (a.first + a.used) % len(a.pieces)
	a.pieces[piece] = txPiece{end: int32(a.head)}
	a.used++
	return off, piece
}

// release marks piece done and moves the tail past every done piece at
// the front.
func (a *txArena) release(piece int) {
	a.pieces[piece].done = true
	for a.used > 0 && a.pieces[a.first].done {
		a.tail = int(a.pieces[a.first].end)
		a.first = (a.first + 1) % len(a.pieces)
		a.used--
	}
	if a.used == 0 {
		a.head, a.tail, a.first = 0, 0, 0
	}
}

// reset forgets every piece, after a device reset.
func (a *txArena) reset() {
	a.head, a.tail, a.first, a.used = 0, 0, 0, 0
}
