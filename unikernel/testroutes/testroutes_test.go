package testroutes

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string, error) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// /test/spin computes for the time asked, within bounds.
func TestSpin(t *testing.T) {
	mux := http.NewServeMux()
	for p, h := range Routes() {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, bad := range []string{"", "x", "-1", "60001"} {
		if code, body, err := get(t, srv.URL+"/test/spin?ms="+bad); err != nil || code != http.StatusBadRequest {
			t.Errorf("ms=%q: %d %q %v, want 400", bad, code, body, err)
		}
	}
	if code, body, err := get(t, srv.URL+"/test/spin?ms=20"); err != nil || code != http.StatusOK || !strings.HasPrefix(body, "spun ") {
		t.Errorf("ms=20: %d %q %v, want 200 spun ...", code, body, err)
	}
}

// /test/nilderef panics in its handler: net/http drops that request's
// connection, and serves the next one.
func TestNilDeref(t *testing.T) {
	mux := http.NewServeMux()
	for p, h := range Routes() {
		mux.Handle(p, h)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the panic's stack
	srv.Start()
	defer srv.Close()
	if _, _, err := get(t, srv.URL+"/test/nilderef"); err == nil {
		t.Error("GET /test/nilderef answered; want the connection dropped by the handler's panic")
	}
	if code, _, err := get(t, srv.URL+"/test/spin?ms=0"); err != nil || code != http.StatusOK {
		t.Errorf("after the panic: %d %v", code, err)
	}
}
