// Package cmos reads the PC's CMOS real-time clock, the Motorola MC146818A
// every PC chipset (and QEMU's pc, q35 and microvm machines) emulates,
// through its index and data ports (0x70, 0x71). It holds no port access of
// its own: the board hands it the port pair, and tests a model of the chip.
//
// The clock counts in local time or UTC as the machine was set; QEMU sets
// it to the host's UTC by default (-rtc base=utc), which is what the time
// is taken to be.
package cmos

import (
	"errors"
	"fmt"
	"time"
)

// Ports is the RTC's index/data port pair: offset 0 selects a register
// (port 0x70), offset 1 reads it (port 0x71). board.IOWindow satisfies it.
type Ports interface {
	In8(off uint16) uint8
	Out8(off uint16, v uint8)
}

// Register indices (MC146818A data sheet, "Address map").
const (
	RegSeconds = 0x00
	RegMinutes = 0x02
	RegHours   = 0x04
	RegDay     = 0x07 // day of the month
	RegMonth   = 0x08
	RegYear    = 0x09 // year of the century, 0-99
	RegStatusA = 0x0A
	RegStatusB = 0x0B
	RegStatusD = 0x0D

	// DefaultCentury is where PC firmware keeps the century (IBM AT
	// convention) when the ACPI FADT names no other register.
	DefaultCentury = 0x32
)

// Status register bits.
const (
	StatusAUIP    = 1 << 7 // update in progress: the time registers are changing
	StatusB24Hour = 1 << 1 // hours count 0-23 (else 1-12 with PMBit)
	StatusBBinary = 1 << 2 // DM: binary values (else BCD)
	StatusDVRT    = 1 << 7 // valid RAM and time: the battery kept the clock
	PMBit         = 1 << 7 // in the hours register, 12-hour mode: PM
)

// The chip raises UIP 244 µs before an update, which itself takes at most
// 1984 µs (data sheet, "Update cycle"): uipWait is ten times that, so only
// a broken clock exceeds it. It is measured between polls, so a host that
// stalls the virtual CPU mid-wait does not make the clock look broken.
const (
	uipWait  = 25 * time.Millisecond
	maxReads = 5 // snapshot pairs before giving up on a stable reading
)

// Registers is an image of the clock's registers.
type Registers struct {
	Seconds, Minutes, Hours, Day, Month, Year uint8
	// Century is the century register's value (see Read); one that holds
	// no plausible century is ignored and the year taken to be 20xx.
	Century uint8
	StatusB uint8 // data mode and hour format
	StatusD uint8 // VRT
}

// Read takes a consistent image of the clock's registers, the century from
// register century (the FADT's CENTURY field, else DefaultCentury): it
// waits out an update in progress (bounded), reads every register, and
// repeats until two images in a row agree, so that no image mixes values
// from both sides of an update.
func Read(p Ports, century uint8) (Registers, error) {
	if century <= RegStatusD || century > 0x7F {
		return Registers{}, fmt.Errorf("rtc: century register %#x is not in CMOS RAM (0x0e-0x7f)", century)
	}
	prev, err := snapshot(p, century)
	if err != nil {
		return Registers{}, err
	}
	for range maxReads {
		r, err := snapshot(p, century)
		if err != nil {
			return Registers{}, err
		}
		if r == prev {
			return r, nil
		}
		prev = r
	}
	return Registers{}, fmt.Errorf("rtc: the time registers changed on each of %d reads", maxReads+1)
}

// snapshot waits until no update is in progress and reads the registers.
func snapshot(p Ports, century uint8) (Registers, error) {
	start := time.Now()
	for read(p, RegStatusA)&StatusAUIP != 0 {
		if time.Since(start) > uipWait {
			return Registers{}, fmt.Errorf("rtc: update in progress for over %v (status A %#02x): the clock is not running", uipWait, read(p, RegStatusA))
		}
	}
	return Registers{
		Seconds: read(p, RegSeconds),
		Minutes: read(p, RegMinutes),
		Hours:   read(p, RegHours),
		Day:     read(p, RegDay),
		Month:   read(p, RegMonth),
		Year:    read(p, RegYear),
		Century: read(p, century),
		StatusB: read(p, RegStatusB),
		StatusD: read(p, RegStatusD),
	}, nil
}

func read(p Ports, reg uint8) uint8 {
	p.Out8(0, reg)
	return p.In8(1)
}

// ErrBatteryDead is the time of a clock whose status register D says it
// lost power: its registers hold no time.
var ErrBatteryDead = errors.New("rtc: status D says the clock lost power (VRT clear): its time is invalid")

// Time decodes the image as a UTC time, in the data mode (BCD or binary)
// and hour format (12 or 24) status register B gives. A value outside its
// field's range, or not BCD where BCD is due, is an error naming the
// register.
func (r Registers) Time() (time.Time, error) {
	if r.StatusD&StatusDVRT == 0 {
		return time.Time{}, ErrBatteryDead
	}
	d := decoder{statusB: r.StatusB}
	sec := d.field("seconds", r.Seconds, 0, 59)
	min := d.field("minutes", r.Minutes, 0, 59)
	var hour int
	if r.StatusB&StatusB24Hour != 0 {
		hour = d.field("hours", r.Hours, 0, 23)
	} else {
		// 12-hour mode: 12 AM is midnight, 12 PM noon.
		hour = d.field("hours", r.Hours&^PMBit, 1, 12) % 12
		if r.Hours&PMBit != 0 {
			hour += 12
		}
	}
	month := d.field("month", r.Month, 1, 12)
	yy := d.field("year", r.Year, 0, 99)
	if d.err != nil {
		return time.Time{}, d.err
	}
	year := 2000 + yy
	if c := (&decoder{statusB: r.StatusB}).field("century", r.Century, 19, 29); c != 0 {
		year = c*100 + yy
	}
	day := d.field("day", r.Day, 1, daysIn(time.Month(month), year))
	if d.err != nil {
		return time.Time{}, d.err
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, 0, time.UTC), nil
}

// decoder decodes register values in the data mode of status register B,
// keeping the first error.
type decoder struct {
	statusB uint8
	err     error
}

// field decodes register name's value v, which must lie in [lo, hi]; it
// returns 0 for a value that does not (and records the error).
func (d *decoder) field(name string, v uint8, lo, hi int) int {
	binary := d.statusB&StatusBBinary != 0
	n, ok := int(v), true
	if !binary {
		n, ok = fromBCD(v)
	}
	if ok && n >= lo && n <= hi {
		return n
	}
	if d.err == nil {
		mode := "BCD"
		if binary {
			mode = "binary"
		}
		d.err = fmt.Errorf("rtc: %s register %#02x is not a %s in [%d, %d] (%s, status B %#02x)", name, v, name, lo, hi, mode, d.statusB)
	}
	return 0
}

// fromBCD decodes two BCD digits.
func fromBCD(v uint8) (int, bool) {
	hi, lo := v>>4, v&0xF
	if hi > 9 || lo > 9 {
		return 0, false
	}
	return int(hi)*10 + int(lo), true
}

// daysIn is the number of days in month of year.
func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
