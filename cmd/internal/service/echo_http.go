package service

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// echoBufSize is the copy buffer of POST /echo and TCP echo.
const echoBufSize = 32 << 10

var echoBufs = sync.Pool{New: func() any { b := make([]byte, echoBufSize); return &b }}

func (s *Service) serveEcho(w http.ResponseWriter, r *http.Request) {
	max := s.cfg.MaxEcho
	if r.ContentLength > max {
		s.c.echoLarge.Add(1)
		http.Error(w, fmt.Sprintf("body of %d bytes exceeds the limit of %d", r.ContentLength, max),
			http.StatusRequestEntityTooLarge)
		return
	}
	// Streaming means writing the response while the body still arrives;
	// HTTP/1 servers otherwise drain the body before the first write.
	rc := http.NewResponseController(w)
	if err := rc.EnableFullDuplex(); err != nil {
		http.Error(w, "echo: "+err.Error(), http.StatusInternalServerError)
		return
	}
	body := http.MaxBytesReader(w, r.Body, max)
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	if r.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	}
	bp := echoBufs.Get().(*[]byte)
	defer echoBufs.Put(bp)
	buf := *bp

	// A chunked body may turn out oversize only after the first echoed
	// bytes; 413 is still possible if that happens in the first read.
	started := false
	for {
		n, rerr := body.Read(buf)
		var mbe *http.MaxBytesError
		if errors.As(rerr, &mbe) {
			s.c.echoLarge.Add(1)
			if !started {
				http.Error(w, fmt.Sprintf("body exceeds the limit of %d bytes", max),
					http.StatusRequestEntityTooLarge)
				return
			}
			// Headers are gone: abort so the client sees a cut stream,
			// never a short body that looks complete.
			panic(http.ErrAbortHandler)
		}
		if n > 0 {
			started = true
			if !writeCounted(w, buf[:n], &s.c.echoBytes, &s.c.echoAbort) {
				return
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				s.c.echoAbort.Add(1)
				panic(http.ErrAbortHandler)
			}
			break
		}
		if n > 0 {
			// Push the echoed bytes out now rather than at 4 KiB
			// boundaries of the server's buffer, so the peer's reads
			// progress with its writes.
			rc.Flush()
		}
	}
	if !started {
		w.WriteHeader(http.StatusOK)
	}
}
