// Package jsonpath reads a value at a dotted path ("system.cost.irqs")
// in a JSON document decoded into map[string]any, as the guests' /stats
// are read by the soak and the per-MB costs.
package jsonpath

import "strings"

// Number is the number at the dotted path in doc, false if the path is
// missing or leads to something else.
func Number(doc map[string]any, path string) (float64, bool) {
	var cur any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return 0, false
		}
		if cur, ok = m[k]; !ok {
			return 0, false
		}
	}
	f, ok := cur.(float64)
	return f, ok
}
