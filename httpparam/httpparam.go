// Package httpparam parses the bounded numbers HTTP routes take in their
// query (the debug routes' ?packets=, ?seconds=, ?events=), so that every
// route refuses the same inputs with the same message.
package httpparam

import (
	"fmt"
	"strconv"
)

// Count parses a request parameter that must be a whole number in
// [1, max], naming the parameter and the bound in its error.
func Count(name, v string, max int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, fmt.Errorf("%s=%q: want a whole number in [1, %d]", name, v, max)
	}
	return n, nil
}
