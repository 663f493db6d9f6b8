// Package httpparam parses the bounded numbers HTTP routes take in their
// query (the debug routes' ?packets=, ?seconds=, ?events=, ?debug=), so
// that every route refuses the same inputs with the same message.
package httpparam

import (
	"fmt"
	"strconv"
)

// Count parses a request parameter that must be a whole number in
// [1, max], naming the parameter and the bound in its error.
func Count(name, v string, max int) (int, error) {
	return inRange(name, v, 1, max)
}

// Level parses an optional request parameter that picks one of 0..max
// (such as ?debug=): absent, it is 0.
func Level(name, v string, max int) (int, error) {
	if v == "" {
		return 0, nil
	}
	return inRange(name, v, 0, max)
}

func inRange(name, v string, min, max int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return 0, fmt.Errorf("%s=%q: want a whole number in [%d, %d]", name, v, min, max)
	}
	return n, nil
}
