package model

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// statusWord is the offset of the aligned 32-bit word a descriptor write-back
// ends with: status, errors (receive) or CSS (transmit), special (3.2.3,
// 3.3.3).
const statusWord = 12

// publishStatus stores a descriptor's last 4 bytes (b, in memory order) with
// one atomic store, after every other field of the write-back. A driver that
// loads that word atomically before reading the rest sees the whole
// write-back, as it sees a device's DMA burst; the race detector checks
// exactly that ordering.
func publishStatus(desc []byte, b [4]byte) {
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&desc[statusWord])), binary.NativeEndian.Uint32(b[:]))
}

// statusBytes returns a descriptor's last 4 bytes in memory order.
func statusBytes(desc []byte) [4]byte { return [4]byte(desc[statusWord : statusWord+4]) }
