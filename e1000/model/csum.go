package model

import (
	"encoding/binary"

	"tamanet/inet"
)

const (
	etherTypeIPv4 = 0x0800
	etherTypeIPv6 = 0x86DD
	etherTypeVLAN = 0x8100
	protoTCP      = 6
	protoUDP      = 17
)

// rxChecksum computes the receive checksum offload result for frame (no
// FCS) under RXCSUM (13.4, 3.2.3.1): with neither IPOFLD nor TUOFLD set it
// reports IXSM; otherwise IPCS/IPE for an IPv4 header, and TCPCS/TCPE for an
// unfragmented TCP or UDP payload over IPv4 or IPv6 without extension
// headers, one VLAN tag allowed. Other packets get neither bit, which the
// manual allows for unsupported types. An IPv4 UDP checksum of zero means
// "none sent" and is not checked.
func rxChecksum(frame []byte, rxcsum uint32) (status, errs uint8) {
	ipOff, tuOff := rxcsum&RXCSUM_IPOFLD != 0, rxcsum&RXCSUM_TUOFLD != 0
	if !ipOff && !tuOff {
		return RXD_STAT_IXSM, 0
	}
	et := binary.BigEndian.Uint16(frame[12:])
	l3 := frame[ethHdrLen:]
	if et == etherTypeVLAN && len(l3) >= 4 {
		et, l3 = binary.BigEndian.Uint16(l3[2:]), l3[4:]
	}
	var pseudo uint32
	var proto uint8
	var l4 []byte
	switch et {
	case etherTypeIPv4:
		if len(l3) < 20 || l3[0]>>4 != 4 {
			return 0, 0
		}
		ihl := int(l3[0]&0xF) * 4
		total := int(binary.BigEndian.Uint16(l3[2:]))
		if ihl < 20 || total < ihl || total > len(l3) {
			return 0, 0
		}
		if ipOff {
			status |= RXD_STAT_IPCS
			if inet.Fold(inet.Sum(0, l3[:ihl])) != 0xFFFF {
				errs |= RXD_ERR_IPE
			}
		}
		if binary.BigEndian.Uint16(l3[6:])&0x3FFF != 0 {
			return status, errs // fragment: no TCP/UDP check
		}
		proto, l4 = l3[9], l3[ihl:total]
		pseudo = inet.Sum(0, l3[12:20])
	case etherTypeIPv6:
		if len(l3) < 40 || l3[0]>>4 != 6 {
			return 0, 0
		}
		payload := int(binary.BigEndian.Uint16(l3[4:]))
		if 40+payload > len(l3) {
			return 0, 0
		}
		proto, l4 = l3[6], l3[40:40+payload]
		pseudo = inet.Sum(0, l3[8:40])
	default:
		return 0, 0
	}
	if !tuOff {
		return status, errs
	}
	switch {
	case proto == protoTCP && len(l4) >= 20:
	case proto == protoUDP && len(l4) >= 8:
		if et == etherTypeIPv4 && binary.BigEndian.Uint16(l4[6:]) == 0 {
			return status, errs
		}
	default:
		return status, errs
	}
	s := pseudo + uint32(proto) + uint32(len(l4))&0xFFFF + uint32(len(l4))>>16
	status |= RXD_STAT_TCPCS
	if inet.Fold(inet.Sum(s, l4)) != 0xFFFF {
		errs |= RXD_ERR_TCPE
	}
	return status, errs
}
