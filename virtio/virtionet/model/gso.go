package model

import (
	"encoding/binary"

	"tamanet/inet"
)

// TCP flags the segmentation touches.
const (
	tcpFIN = 0x01
	tcpPSH = 0x08
	tcpCWR = 0x80
)

// WireFrames does what h asks of the device for frame and returns the
// frames as they go on the wire: a GSO frame becomes MSS-sized TCP
// segments (IP length, IPv4 identification and header checksum, TCP
// sequence number, FIN/PSH on the last only, CWR on the first only, and
// the TCP checksum), a partial checksum is completed (5.1.6.2: the device
// sums from csum_start, the field holding the pseudo-header sum, and
// stores the complement at csum_start+csum_offset). A frame whose headers
// do not allow that is returned as it is.
func WireFrames(frame []byte, h Header) [][]byte {
	if h.GSOType&^GSOECN == GSOTCPv4 || h.GSOType&^GSOECN == GSOTCPv6 {
		if segs := segment(frame, h); segs != nil {
			return segs
		}
	}
	out := append([]byte(nil), frame...)
	if h.Flags&HdrFNeedsCsum != 0 {
		completeChecksum(out, int(h.CsumStart), int(h.CsumOffset))
	}
	return [][]byte{out}
}

// completeChecksum sums b from start over the field at start+off, which
// holds the pseudo-header sum, and stores the complement there.
func completeChecksum(b []byte, start, off int) {
	if start+off+2 > len(b) {
		return
	}
	binary.BigEndian.PutUint16(b[start+off:], ^inet.Fold(inet.Sum(0, b[start:])))
}

// segment cuts a TCP GSO frame into MSS-sized segments; nil if its
// headers are not IPv4 or IPv6 TCP at csum_start.
func segment(frame []byte, h Header) [][]byte {
	l3, l4 := ethHeaderLen, int(h.CsumStart)
	if len(frame) < l4+20 || h.GSOSize == 0 {
		return nil
	}
	v6 := frame[l3]>>4 == 6
	thl := int(frame[l4+12]>>4) * 4
	hdr := l4 + thl
	if thl < 20 || hdr > len(frame) {
		return nil
	}
	mss := int(h.GSOSize)
	payload := frame[hdr:]
	seq := binary.BigEndian.Uint32(frame[l4+4:])
	flags := frame[l4+13]
	var id uint16
	if !v6 {
		id = binary.BigEndian.Uint16(frame[l3+4:])
	}
	var out [][]byte
	for i, off := 0, 0; off < len(payload) || i == 0; i++ {
		n := min(mss, len(payload)-off)
		last := off+n >= len(payload)
		s := make([]byte, hdr+n)
		copy(s, frame[:hdr])
		copy(s[hdr:], payload[off:off+n])
		ip := s[l3:]
		if v6 {
			binary.BigEndian.PutUint16(ip[4:], uint16(len(s)-l3-40))
		} else {
			binary.BigEndian.PutUint16(ip[2:], uint16(len(s)-l3))
			binary.BigEndian.PutUint16(ip[4:], id+uint16(i))
			binary.BigEndian.PutUint16(ip[10:], 0)
			ihl := int(ip[0]&0xF) * 4
			binary.BigEndian.PutUint16(ip[10:], ^inet.Fold(inet.Sum(0, ip[:ihl])))
		}
		tcp := s[l4:]
		binary.BigEndian.PutUint32(tcp[4:], seq+uint32(off))
		f := flags
		if !last {
			f &^= tcpFIN | tcpPSH
		}
		if i > 0 {
			f &^= tcpCWR
		}
		tcp[13] = f
		binary.BigEndian.PutUint16(tcp[16:], 0)
		var ps uint32
		if v6 {
			ps = inet.Sum(0, ip[8:40])
		} else {
			ps = inet.Sum(0, ip[12:20])
		}
		ps += 6 + uint32(len(tcp))
		binary.BigEndian.PutUint16(tcp[16:], ^inet.Fold(inet.Sum(ps, tcp)))
		out = append(out, s)
		off += n
		if last {
			break
		}
	}
	return out
}
