// Package expose is tamanet's one statistics model: it turns the snapshot
// structs every layer already keeps (e1000.Stats, napi.Stats, netif.Counters,
// gVisor's tcpip.Stats, ...) into a tree, once per request, and renders that
// tree both as the GET /stats JSON document and as Prometheus metrics
// (through github.com/prometheus/client_golang). A counter added to a
// layer's struct appears in both without any code here.
//
// Names: a field's JSON key is its `json` tag name, else its Go name in
// snake_case ("GoodOctetsRx" -> "good_octets_rx", "IRQs" -> "irqs"); a tag
// that is not snake_case is reported, so the document has one style. A
// metric's name is the namespace and the keys on its path joined by "_",
// with "_total" added to counters; its HELP text gives the /stats path.
//
// Types sit next to the values, in the structs, never in a list of names:
//
//   - unsigned and signed integers are counters (they only grow), unless
//     tagged `metric:"gauge"`;
//   - floats are gauges, unless tagged `metric:"counter"` (a clock in
//     seconds); booleans are gauges (0 or 1);
//   - a value with a StatsHistogram method (see Histogram) is a histogram;
//   - a value with a Value() uint64 method (gVisor's *tcpip.StatCounter) is
//     a counter; one with Keys() []uint64 and Get(uint64) (counter, bool)
//     (gVisor's *tcpip.IntegralStatCounterMap) is a counter per key;
//   - slices, arrays and maps are collections: each element's metrics get a
//     label holding its index or key, named by `metric:"label=NAME"` on the
//     collection (default "index" or "key");
//   - a field tagged `metric:"label"` (a string or an integer) is not a
//     metric: it labels the metrics of the struct it is in, e.g. an
//     interrupt line's gsi;
//   - a string tagged `metric:"info=NAME"` becomes a gauge <name>_info with
//     value 1 and label NAME holding the string (e.g. the NAPI mode);
//   - other strings are in the JSON only; `metric:"-"` leaves a field out
//     of both.
//
// Structs embedded without a name add no key, as in encoding/json.
package expose
