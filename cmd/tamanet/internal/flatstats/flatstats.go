// Package flatstats turns a statistics document (any value encoding/json
// can encode) into flat counters keyed by dotted path, so that GET /metrics
// exposes exactly the numbers GET /stats shows, from one source.
package flatstats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Flatten encodes v as JSON and returns every number and boolean in it,
// keyed by the path of object keys and array indices joined with dots, e.g.
// "e1000.RX.Packets" or "e1000.NAPI.PollHistogram.3". Booleans become 0 or 1;
// strings and nulls are left out. A number that is not an unsigned integer
// is left out and reported in the error, which names every such path; the
// map still holds all the others.
func Flatten(v any) (map[string]uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("flatstats: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // float64 would round counters above 2^53
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("flatstats: %w", err)
	}
	f := flattener{out: map[string]uint64{}}
	f.walk(doc, "")
	return f.out, errors.Join(f.errs...)
}

type flattener struct {
	out  map[string]uint64
	errs []error
}

func (f *flattener) walk(v any, path string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			f.walk(e, join(path, k))
		}
	case []any:
		for i, e := range x {
			f.walk(e, join(path, strconv.Itoa(i)))
		}
	case json.Number:
		n, err := strconv.ParseUint(string(x), 10, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("flatstats: %s = %s is not an unsigned integer", path, x))
			return
		}
		f.out[path] = n
	case bool:
		if x {
			f.out[path] = 1
		} else {
			f.out[path] = 0
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
