//go:build tamago

package unikernel

import (
	"context"
	"fmt"
	"net"
	"time"

	"tamanet/kernel"
	"tamanet/sntp"
)

// clockFormat is how the console and /stats show the wall clock: RFC 3339
// in UTC, to the millisecond.
const clockFormat = "2006-01-02T15:04:05.000Z07:00"

// wallClock formats the wall clock now.
func wallClock() string { return time.Now().UTC().Format(clockFormat) }

// printWallClock says on the console where kernel.Init set the wall clock
// from, or that it could not.
func printWallClock() {
	if _, err := kernel.RTCBoot(); err != nil {
		fmt.Printf("tamanet: WARNING: wall clock not set (%v): time.Now counts from 1970\n", err)
		return
	}
	fmt.Printf("tamanet: wall clock %s (CMOS RTC)\n", wallClock())
}

// startNTP runs the SNTP client of boot option ntp= in the background: its
// first query goes out now, the network being up, and the wall clock is
// stepped by each sync's offset.
func (s *System) startNTP() {
	server := s.Options.NTP
	if !server.IsValid() {
		return
	}
	s.ntp = sntp.New(sntp.Config{
		Server: server.String(),
		// Package net's UDP socket, on the gVisor stack (stdnet).
		Dial: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", server.String())
		},
		Step: func(offset time.Duration) { kernel.SetWallClock(time.Now().Add(offset)) },
		Log:  func(line string) { fmt.Printf("%s: %s; wall clock %s\n", s.Name, line, wallClock()) },
	})
	go s.ntp.Run(context.Background())
}

// wallClockStats is the "wall_clock" member of GET /stats: time.Now and
// where it was set from.
type wallClockStats struct {
	// Now is time.Now when the snapshot was taken, RFC 3339 UTC (JSON
	// only); NowSeconds the same in seconds since the Unix epoch.
	Now        string  `json:"now"`
	NowSeconds float64 `json:"now_seconds"`
	// Source is what last set it: "ntp" (ntp=), "rtc" (the CMOS RTC at
	// boot) or "none" (it counts from 1970).
	Source string `json:"source" metric:"info=source"`
	// RTC is what the CMOS RTC gave at boot, RFC 3339 UTC; RTCError why
	// it gave nothing.
	RTC      string `json:"rtc"`
	RTCError string `json:"rtc_error"`
}

func (s *System) wallClockStats() wallClockStats {
	now := time.Now()
	st := wallClockStats{Now: now.UTC().Format(clockFormat), NowSeconds: float64(now.UnixNano()) / 1e9, Source: "none"}
	if at, err := kernel.RTCBoot(); err != nil {
		st.RTCError = err.Error()
	} else {
		st.RTC, st.Source = at.Format(clockFormat), "rtc"
	}
	if s.ntp != nil && s.ntp.Stats().Syncs > 0 {
		st.Source = "ntp"
	}
	return st
}

// ntpStats is the SNTP client's snapshot, nil without ntp=.
func (s *System) ntpStats() *sntp.Stats {
	if s.ntp == nil {
		return nil
	}
	st := s.ntp.Stats()
	return &st
}
