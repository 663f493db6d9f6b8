package admin

import (
	"bufio"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"tamanet/httpparam"
	"tamanet/lattrace"
)

// defaultTraceEvents is the ring's size when /debug/trace/start names none:
// at a few events per packet, some seconds of a latency test. maxTraceEvents
// bounds what a request may ask for: the ring takes 24 bytes an event
// (24 MiB at the bound; 2^24 events would take 384 MiB of a 1 GiB guest).
const (
	defaultTraceEvents = 1 << 18
	maxTraceEvents     = 1 << 20
)

// Clock is the time source of the trace's events: the board's TSC, its
// frequency, and the time since reset of a TSC reading.
type Clock struct {
	TSC        func() uint64
	Hz         func() uint64
	SinceReset func(tsc uint64) time.Duration
}

// TraceRoutes are the latency trace over HTTP (package lattrace; off until
// started), by http.ServeMux pattern, with events stamped by c:
//
//	POST /debug/trace/start?events=N   start a trace of the last N events
//	POST /debug/trace/stop             stop recording
//	GET  /debug/trace                  the events, as JSON
func TraceRoutes(c Clock) map[string]http.Handler {
	return map[string]http.Handler{
		"POST /debug/trace/start": http.HandlerFunc(c.serveTraceStart),
		"POST /debug/trace/stop":  http.HandlerFunc(serveTraceStop),
		"GET /debug/trace":        http.HandlerFunc(c.serveTrace),
	}
}

func (c Clock) serveTraceStart(w http.ResponseWriter, r *http.Request) {
	n := defaultTraceEvents
	if v := r.URL.Query().Get("events"); v != "" {
		var err error
		if n, err = httpparam.Count("events", v, maxTraceEvents); err != nil {
			http.Error(w, "trace: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	watchGC()
	lattrace.Start(n, c.TSC)
	fmt.Fprintf(w, "trace started: the last %d events\n", lattrace.ReadStats().Size)
}

func serveTraceStop(w http.ResponseWriter, _ *http.Request) {
	lattrace.Stop()
	fmt.Fprintf(w, "trace stopped: %d events recorded\n", lattrace.ReadStats().Recorded)
}

// traceBuf is reused by dumps; dumps are serialised by lattrace.
var (
	traceMu  sync.Mutex
	traceBuf []lattrace.Event
)

// serveTrace writes the events the ring holds, oldest first, each as
// [ns since the VM started, kind, arg], with the kinds' names and the
// uptime read last (to place the events on the client's clock, as
// /debug/boot does for the boot phases).
func (c Clock) serveTrace(w http.ResponseWriter, _ *http.Request) {
	traceMu.Lock()
	defer traceMu.Unlock()
	var lost uint64
	traceBuf, lost = lattrace.Snapshot(traceBuf)
	st := lattrace.ReadStats()
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, `{"on":%t,"recorded":%d,"lost":%d,"tsc_hz":%d,"kinds":{`, st.On, st.Recorded, lost, c.Hz())
	for i, k := range lattrace.Kinds() {
		if i > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, `"%d":%q`, k, k)
	}
	bw.WriteString(`},"events":[`)
	var b []byte
	for i, e := range traceBuf {
		b = b[:0]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(c.SinceReset(e.Time)), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(e.Kind), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(e.Arg), 10)
		b = append(b, ']')
		bw.Write(b)
	}
	fmt.Fprintf(bw, `],"uptime_seconds":%.9f}`+"\n", c.SinceReset(c.TSC()).Seconds())
	bw.Flush()
}

// watchGC records a KindGC event after every garbage collection cycle from
// then on: a finalizer runs when the cycle that found its object
// unreachable has swept, and arms the next one.
func watchGC() {
	if gcWatched.Swap(true) {
		return
	}
	armGC()
}

var (
	gcWatched atomic.Bool
	gcCycles  atomic.Uint32
)

// gcSentinel is big enough not to share a tiny-allocator block, whose
// finalizers may never run.
type gcSentinel struct{ _ [32]byte }

func armGC() {
	runtime.SetFinalizer(new(gcSentinel), func(*gcSentinel) {
		lattrace.Record(lattrace.KindGC, gcCycles.Add(1))
		armGC()
	})
}
