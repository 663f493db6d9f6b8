package expose

import (
	"strings"
	"unicode"
)

// SnakeCase turns a Go identifier into a snake_case key: a word starts at
// an upper-case letter after a lower-case letter or digit, at the last
// upper-case letter of an acronym followed by lower case ("HTTPServer" ->
// "http_server"), and at a digit after a lower-case letter ("Rx64" ->
// "rx_64"). A lone "s" after an acronym is a plural ("IRQs" -> "irqs").
func SnakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && boundary(r, i) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func boundary(r []rune, i int) bool {
	prev, c := r[i-1], r[i]
	switch {
	case unicode.IsUpper(c):
		if unicode.IsLower(prev) || unicode.IsDigit(prev) {
			return true
		}
		// The last capital of an acronym starts the next word, unless
		// what follows is a plural "s" ("IRQs", "NICs") or a version
		// ("IPv4", "ICMPv6").
		if unicode.IsUpper(prev) && i+1 < len(r) && unicode.IsLower(r[i+1]) {
			return !plural(r, i+1) && !version(r, i+1)
		}
	case unicode.IsDigit(c):
		return unicode.IsLower(prev) && !plural(r, i-1) && !version(r, i-1)
	}
	return false
}

// version reports whether r[i] is the "v" of an acronym's version number.
func version(r []rune, i int) bool {
	return r[i] == 'v' && i > 0 && unicode.IsUpper(r[i-1]) && i+1 < len(r) && unicode.IsDigit(r[i+1])
}

// plural reports whether r[i] is an "s" ending an acronym's word.
func plural(r []rune, i int) bool {
	if r[i] != 's' || i == 0 || !unicode.IsUpper(r[i-1]) {
		return false
	}
	return i+1 == len(r) || !unicode.IsLower(r[i+1])
}

// metricName joins a namespace and path keys into a Prometheus metric name.
// Keys are snake_case already; anything outside [a-zA-Z0-9_] becomes '_'.
func metricName(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		for _, c := range p {
			if c < 0x80 && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_') {
				b.WriteRune(c)
			} else {
				b.WriteByte('_')
			}
		}
	}
	return b.String()
}
