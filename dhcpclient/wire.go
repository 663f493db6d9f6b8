package dhcpclient

import (
	"encoding/binary"
	"fmt"
)

// The DHCP message layout (RFC 2131 section 2, figure 1): a fixed BOOTP
// header, the magic cookie, then options (RFC 2132). The client needs no
// more than this, and a codec of its own keeps a packet-decoding library's
// tables out of the unikernel's start-up.

// msgType is the DHCP Message Type option's value (RFC 2132 section 9.6).
type msgType byte

const (
	msgDiscover msgType = 1
	msgOffer    msgType = 2
	msgRequest  msgType = 3
	msgAck      msgType = 5
	msgNak      msgType = 6
)

// optCode is an option code (RFC 2132).
type optCode byte

const (
	optPad           optCode = 0
	optSubnetMask    optCode = 1
	optRouter        optCode = 3
	optDNS           optCode = 6
	optHostname      optCode = 12
	optDomainName    optCode = 15
	optRequestedAddr optCode = 50
	optLeaseTime     optCode = 51
	optMessageType   optCode = 53
	optServerID      optCode = 54
	optParamRequest  optCode = 55
	optMessage       optCode = 56
	optT1            optCode = 58
	optT2            optCode = 59
	optClientID      optCode = 61
	optDomainSearch  optCode = 119
	optEnd           optCode = 255
)

// BOOTP header fields (offsets into the message) and sizes.
const (
	offOp, offHType, offHLen  = 0, 1, 2
	offXID, offSecs, offFlags = 4, 8, 10
	offCIAddr, offYIAddr      = 12, 16
	offCHAddr                 = 28
	headerLen                 = 236 // up to the end of the file field
	opRequest, opReply        = 1, 2
	htypeEthernet             = 1
	optionsStart              = headerLen + len(magicCookie)
)

// magicCookie starts the options (RFC 2131 section 3).
var magicCookie = [4]byte{99, 130, 83, 99}

// message is a decoded DHCP message: the header fields the client uses and
// the options by code, the parts of an option split over several instances
// concatenated (RFC 3396).
type message struct {
	op, htype, hlen byte
	xid             uint32
	chaddr          [16]byte
	yiaddr          [4]byte
	options         map[optCode][]byte
}

// decodeMessage parses b. It rejects a message too short for the header
// and cookie, a wrong cookie and an option running past the end; options
// after the End option are ignored, and a missing End is tolerated.
func decodeMessage(b []byte) (message, error) {
	if len(b) < optionsStart {
		return message{}, fmt.Errorf("%d bytes, shorter than a DHCP message's %d", len(b), optionsStart)
	}
	if [4]byte(b[headerLen:optionsStart]) != magicCookie {
		return message{}, fmt.Errorf("magic cookie %v, not DHCP's", b[headerLen:optionsStart])
	}
	m := message{
		op: b[offOp], htype: b[offHType], hlen: b[offHLen],
		xid:     binary.BigEndian.Uint32(b[offXID:]),
		chaddr:  [16]byte(b[offCHAddr:]),
		yiaddr:  [4]byte(b[offYIAddr:]),
		options: map[optCode][]byte{},
	}
	for rest := b[optionsStart:]; len(rest) > 0; {
		code := optCode(rest[0])
		switch code {
		case optEnd:
			return m, nil
		case optPad:
			rest = rest[1:]
			continue
		}
		if len(rest) < 2 || len(rest) < 2+int(rest[1]) {
			return message{}, fmt.Errorf("option %d runs past the end of the message", code)
		}
		n := int(rest[1])
		m.options[code] = append(m.options[code], rest[2:2+n]...)
		rest = rest[2+n:]
	}
	return m, nil
}

// messageWriter builds a BOOTREQUEST.
type messageWriter struct{ b []byte }

// newRequest starts a BOOTREQUEST from an Ethernet address.
func newRequest(xid uint32, secs uint16, flags uint16, ciaddr [4]byte, mac [6]byte) *messageWriter {
	b := make([]byte, optionsStart, minMessageLen)
	b[offOp], b[offHType], b[offHLen] = opRequest, htypeEthernet, byte(len(mac))
	binary.BigEndian.PutUint32(b[offXID:], xid)
	binary.BigEndian.PutUint16(b[offSecs:], secs)
	binary.BigEndian.PutUint16(b[offFlags:], flags)
	copy(b[offCIAddr:], ciaddr[:])
	copy(b[offCHAddr:], mac[:])
	copy(b[headerLen:], magicCookie[:])
	return &messageWriter{b: b}
}

// option appends one option; data must fit in 255 bytes.
func (w *messageWriter) option(code optCode, data []byte) {
	w.b = append(w.b, byte(code), byte(len(data)))
	w.b = append(w.b, data...)
}

// finish appends the End option and pads to minMessageLen.
func (w *messageWriter) finish() []byte {
	w.b = append(w.b, byte(optEnd))
	for len(w.b) < minMessageLen {
		w.b = append(w.b, byte(optPad))
	}
	return w.b
}
