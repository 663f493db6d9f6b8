package bootopt

import (
	"strings"
	"testing"

	"tamanet/napi"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Options
	}{
		{"", Options{}},
		{"   ", Options{}},
		{"napi=napi", Options{Mode: napi.ModeNAPI}},
		{"napi=interrupt", Options{Mode: napi.ModeInterrupt}},
		{" napi=busypoll  budget=16 ", Options{Mode: napi.ModeBusyPoll, Budget: 16}},
		{"budget=1", Options{Budget: 1}},
		{"budget=4096", Options{Budget: 4096}},
		{"mitigation=on", Options{}},
		{"napi=interrupt mitigation=off", Options{Mode: napi.ModeInterrupt, NoMitigation: true}},
		{"offload=off", Options{NoOffload: true}},
		{"offload=on napi=interrupt", Options{Mode: napi.ModeInterrupt}},
		{"rng=insecure", Options{InsecureRNG: true}},
	} {
		got, err := Parse(tc.line)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.line, got, err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ line, msg string }{
		{"napi", "want key=value"},
		{"napi=", "want key=value"},
		{"napi=poll", `unknown mode "poll"`},
		{"napi=NAPI", `unknown mode "NAPI"`},
		{"budget=0", "[1, 4096]"},
		{"budget=4097", "[1, 4096]"},
		{"budget=-3", "[1, 4096]"},
		{"budget=ten", "[1, 4096]"},
		{"napi=napi napi=interrupt", "given twice"},
		{"console=ttyS0", "unknown key"},
		{"mitigation=no", "want on or off"},
		{"offload=no", "want on or off"},
		{"offload=on offload=off", "given twice"},
		{"rng=rdrand", "want insecure"},
	} {
		got, err := Parse(tc.line)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q) = %+v, %v; want an error containing %q", tc.line, got, err, tc.msg)
		}
		if got != (Options{}) {
			t.Errorf("Parse(%q) returned %+v with its error; want the zero Options", tc.line, got)
		}
	}
}

func TestParseModeRoundTrip(t *testing.T) {
	for _, m := range []napi.Mode{napi.ModeNAPI, napi.ModeInterrupt, napi.ModeBusyPoll} {
		if got, err := ParseMode(m.String()); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
}
