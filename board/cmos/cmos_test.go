package cmos

import (
	"strings"
	"testing"
	"time"
)

const (
	bcd24 = StatusB24Hour // BCD, 24-hour: what QEMU and most firmware set
	bin24 = StatusB24Hour | StatusBBinary
	bcd12 = 0
	bin12 = StatusBBinary
)

func TestTime(t *testing.T) {
	ok := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return v
	}
	for _, c := range []struct {
		name string
		r    Registers
		want time.Time
		err  string // substring of the error; "" for none
	}{
		{"BCD 24h", Registers{Seconds: 0x59, Minutes: 0x30, Hours: 0x18, Day: 0x07, Month: 0x12, Year: 0x26, Century: 0x20, StatusB: bcd24, StatusD: StatusDVRT},
			ok("2026-12-07T18:30:59Z"), ""},
		{"binary 24h", Registers{Seconds: 59, Minutes: 30, Hours: 18, Day: 7, Month: 12, Year: 26, Century: 20, StatusB: bin24, StatusD: StatusDVRT},
			ok("2026-12-07T18:30:59Z"), ""},
		{"BCD 12h PM", Registers{Seconds: 0x01, Minutes: 0x02, Hours: PMBit | 0x06, Day: 0x28, Month: 0x02, Year: 0x24, Century: 0x20, StatusB: bcd12, StatusD: StatusDVRT},
			ok("2024-02-28T18:02:01Z"), ""},
		{"binary 12h PM", Registers{Hours: PMBit | 11, Day: 1, Month: 1, Year: 30, Century: 20, StatusB: bin12, StatusD: StatusDVRT},
			ok("2030-01-01T23:00:00Z"), ""},
		{"12h: 12 AM is midnight", Registers{Hours: 0x12, Day: 0x01, Month: 0x01, Year: 0x00, Century: 0x20, StatusB: bcd12, StatusD: StatusDVRT},
			ok("2000-01-01T00:00:00Z"), ""},
		{"12h: 12 PM is noon", Registers{Hours: PMBit | 0x12, Day: 0x01, Month: 0x01, Year: 0x00, Century: 0x20, StatusB: bcd12, StatusD: StatusDVRT},
			ok("2000-01-01T12:00:00Z"), ""},
		{"leap day", Registers{Day: 0x29, Month: 0x02, Year: 0x24, Century: 0x20, StatusB: bcd24, StatusD: StatusDVRT},
			ok("2024-02-29T00:00:00Z"), ""},
		{"century 19", Registers{Day: 0x31, Month: 0x12, Year: 0x99, Century: 0x19, StatusB: bcd24, StatusD: StatusDVRT},
			ok("1999-12-31T00:00:00Z"), ""},
		{"no century register: 20xx", Registers{Day: 0x01, Month: 0x06, Year: 0x27, Century: 0xFF, StatusB: bcd24, StatusD: StatusDVRT},
			ok("2027-06-01T00:00:00Z"), ""},
		{"century 0: 20xx", Registers{Day: 0x01, Month: 0x06, Year: 0x27, Century: 0, StatusB: bcd24, StatusD: StatusDVRT},
			ok("2027-06-01T00:00:00Z"), ""},

		{"not BCD", Registers{Seconds: 0x5A, Day: 0x01, Month: 0x01, Century: 0x20, StatusB: bcd24, StatusD: StatusDVRT},
			time.Time{}, "seconds register 0x5a is not a seconds in [0, 59] (BCD"},
		{"binary read as BCD would pass", Registers{Minutes: 60, Day: 1, Month: 1, Century: 20, StatusB: bin24, StatusD: StatusDVRT},
			time.Time{}, "minutes register 0x3c"},
		{"hour 24", Registers{Hours: 0x24, Day: 0x01, Month: 0x01, Century: 0x20, StatusB: bcd24, StatusD: StatusDVRT},
			time.Time{}, "hours register 0x24"},
		{"12h hour 0", Registers{Hours: PMBit, Day: 0x01, Month: 0x01, Century: 0x20, StatusB: bcd12, StatusD: StatusDVRT},
			time.Time{}, "hours register 0x0"},
		{"month 13", Registers{Day: 0x01, Month: 0x13, Century: 0x20, StatusB: bcd24, StatusD: StatusDVRT},
			time.Time{}, "month register 0x13"},
		{"day 0", Registers{Day: 0x00, Month: 0x01, Century: 0x20, StatusB: bcd24, StatusD: StatusDVRT},
			time.Time{}, "day register 0x0"},
		{"February 29 of a common year", Registers{Day: 0x29, Month: 0x02, Year: 0x26, Century: 0x20, StatusB: bcd24, StatusD: StatusDVRT},
			time.Time{}, "not a day in [1, 28]"},
		{"April 31", Registers{Day: 31, Month: 4, Year: 26, Century: 20, StatusB: bin24, StatusD: StatusDVRT},
			time.Time{}, "not a day in [1, 30]"},
		{"year 100", Registers{Day: 1, Month: 1, Year: 100, Century: 20, StatusB: bin24, StatusD: StatusDVRT},
			time.Time{}, "year register 0x64"},
		{"battery lost", Registers{Day: 0x01, Month: 0x01, Century: 0x20, StatusB: bcd24},
			time.Time{}, "lost power"},
	} {
		got, err := c.r.Time()
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err == "" && !got.Equal(c.want):
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
		}
	}
}

// chip is a model of the MC146818A's ports: 128 bytes of registers, an
// index latch, and hooks that make UIP stay up or the time tick between
// reads.
type chip struct {
	reg   [128]uint8
	index uint8
	// uipReads is how many more status A reads show UIP.
	uipReads int
	// stuck keeps UIP up for ever.
	stuck bool
	// tickAfter, if positive, counts down time register reads; at zero
	// the seconds register advances (by one, or to the next minute).
	tickAfter int
	reads     int
}

func (c *chip) Out8(off uint16, v uint8) {
	if off != 0 {
		panic("write to the data port")
	}
	c.index = v & 0x7F
}

func (c *chip) In8(off uint16) uint8 {
	if off != 1 {
		panic("read of the index port")
	}
	c.reads++
	if c.index == RegStatusA {
		if c.stuck || c.uipReads > 0 {
			c.uipReads--
			return c.reg[RegStatusA] | StatusAUIP
		}
		return c.reg[RegStatusA]
	}
	v := c.reg[c.index]
	if c.index == RegSeconds && c.tickAfter > 0 {
		c.tickAfter--
		if c.tickAfter == 0 {
			c.reg[RegSeconds]++ // binary mode in these tests
		}
	}
	return v
}

// newChip is a BCD 24-hour clock at 2026-12-07 18:30:59 with its century
// at DefaultCentury.
func newChip() *chip {
	c := &chip{}
	c.reg[RegSeconds], c.reg[RegMinutes], c.reg[RegHours] = 0x59, 0x30, 0x18
	c.reg[RegDay], c.reg[RegMonth], c.reg[RegYear] = 0x07, 0x12, 0x26
	c.reg[DefaultCentury] = 0x20
	c.reg[RegStatusA] = 0x26
	c.reg[RegStatusB] = bcd24
	c.reg[RegStatusD] = StatusDVRT
	return c
}

func TestRead(t *testing.T) {
	want := time.Date(2026, 12, 7, 18, 30, 59, 0, time.UTC)
	check := func(name string, c *chip, century uint8) {
		t.Helper()
		r, err := Read(c, century)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := r.Time()
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v, %v; want %v", name, got, err, want)
		}
	}
	check("plain", newChip(), DefaultCentury)

	// An update in progress is waited out.
	c := newChip()
	c.uipReads = 3
	check("update in progress", c, DefaultCentury)
	if c.uipReads > 0 {
		t.Errorf("read while UIP was up")
	}

	// The FADT names another century register.
	c = newChip()
	c.reg[DefaultCentury], c.reg[0x48] = 0, 0x20
	check("FADT century", c, 0x48)

	// The clock ticks between the first two images: a third is taken.
	c = newChip()
	c.reg[RegStatusB] = bin24
	c.reg[RegSeconds], c.reg[RegMinutes], c.reg[RegHours] = 58, 30, 18
	c.reg[RegDay], c.reg[RegMonth], c.reg[RegYear], c.reg[DefaultCentury] = 7, 12, 26, 20
	c.tickAfter = 1
	check("ticked between reads", c, DefaultCentury)
}

func TestReadErrors(t *testing.T) {
	c := newChip()
	c.stuck = true
	start := time.Now()
	if _, err := Read(c, DefaultCentury); err == nil || !strings.Contains(err.Error(), "update in progress for over") {
		t.Errorf("UIP stuck: %v", err)
	}
	if time.Since(start) < uipWait {
		t.Errorf("gave up after %v, before the %v bound", time.Since(start), uipWait)
	}

	// A clock that changes on every read never gives a stable image.
	c = newChip()
	c.reg[RegStatusB] = bin24
	r := &everRead{chip: c}
	if _, err := Read(r, DefaultCentury); err == nil || !strings.Contains(err.Error(), "changed on each of") {
		t.Errorf("unstable clock: %v", err)
	}

	for _, bad := range []uint8{0, RegStatusD, 0x80} {
		if _, err := Read(newChip(), bad); err == nil {
			t.Errorf("century register %#x accepted", bad)
		}
	}
}

// everRead is a chip whose seconds advance on every read.
type everRead struct{ *chip }

func (e *everRead) In8(off uint16) uint8 {
	v := e.chip.In8(off)
	if e.chip.index == RegSeconds {
		e.chip.reg[RegSeconds] = (e.chip.reg[RegSeconds] + 1) % 60
	}
	return v
}
