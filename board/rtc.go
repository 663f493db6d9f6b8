//go:build tamago

package board

import (
	"errors"
	"time"

	"tamanet/board/cmos"
)

// rtcPorts are the CMOS RTC's index and data ports.
const rtcPorts = 0x70

// ReadRTC reads the CMOS real-time clock (package cmos), which QEMU sets to
// the host's UTC at start-up: the century register is the one the FADT
// names, else the PC's usual 0x32. It fails if the FADT says the machine
// has no CMOS RTC, or the clock's registers hold no valid time.
func ReadRTC() (time.Time, error) {
	century := uint8(cmos.DefaultCentury)
	if t := fadt(); t != nil {
		if t[fadtBootArch]&bootArchNoCMOSRTC != 0 {
			return time.Time{}, errors.New("rtc: the ACPI FADT says the machine has no CMOS RTC")
		}
		if t[fadtCentury] != 0 {
			century = t[fadtCentury]
		}
	}
	ports, err := MapIO(rtcPorts, 2)
	if err != nil {
		return time.Time{}, err
	}
	r, err := cmos.Read(ports, century)
	if err != nil {
		return time.Time{}, err
	}
	return r.Time()
}
