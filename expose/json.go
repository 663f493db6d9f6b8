package expose

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// MarshalJSON renders the tree as the /stats document: groups and maps as
// objects (groups in field order), lists as arrays, numbers exactly (a
// uint64 counter is not rounded through float64), and a histogram as
// {"buckets": [{"le": "1", "count": N}, ..., {"le": "+Inf", ...}],
// "count": N, "sum": S} with per-bucket (not cumulative) counts.
func (n *Node) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	n.writeJSON(&b)
	return b.Bytes(), nil
}

func (n *Node) writeJSON(b *bytes.Buffer) {
	switch n.Kind {
	case KindGroup, KindMap:
		b.WriteByte('{')
		for i, c := range n.Children {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, c.Key)
			b.WriteByte(':')
			c.writeJSON(b)
		}
		b.WriteByte('}')
	case KindList:
		b.WriteByte('[')
		for i, c := range n.Children {
			if i > 0 {
				b.WriteByte(',')
			}
			c.writeJSON(b)
		}
		b.WriteByte(']')
	case KindHistogram:
		h := n.Hist
		b.WriteString(`{"buckets":[`)
		for i, c := range h.Counts {
			if i > 0 {
				b.WriteByte(',')
			}
			le := "+Inf"
			if i < len(h.Upper) {
				le = formatFloat(h.Upper[i])
			}
			b.WriteString(`{"le":`)
			writeString(b, le)
			b.WriteString(`,"count":`)
			b.WriteString(strconv.FormatUint(c, 10))
			b.WriteByte('}')
		}
		b.WriteString(`],"count":`)
		b.WriteString(strconv.FormatUint(h.Count(), 10))
		b.WriteString(`,"sum":`)
		writeFloat(b, h.Sum)
		b.WriteByte('}')
	default:
		writeScalar(b, n.Value)
	}
}

func writeScalar(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		writeFloat(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		writeString(b, x)
	default:
		b.WriteString("null")
	}
}

// writeFloat writes f, or null for NaN and infinities, which JSON lacks.
func writeFloat(b *bytes.Buffer, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b.WriteString("null")
		return
	}
	b.WriteString(formatFloat(f))
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always encodes
	b.Write(q)
}
