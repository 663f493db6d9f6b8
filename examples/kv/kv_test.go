//go:build !tamago

package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func do(t *testing.T, method, url string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// exchange is one request and what its answer must be: the status code
// and, unless empty, text the body must contain.
type exchange struct {
	method, path, body string
	code               int
	want               string
}

// check runs the exchanges against base in order.
func check(t *testing.T, base string, exchanges []exchange) {
	t.Helper()
	for _, c := range exchanges {
		code, body := do(t, c.method, base+c.path, []byte(c.body))
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %.200q, want %d with %q", c.method, c.path, code, body, c.code, c.want)
		}
	}
}

func TestStore(t *testing.T) {
	ts := httptest.NewServer(newStore().handler())
	defer ts.Close()
	check(t, ts.URL, []exchange{
		{"GET", "/kv/a", "", 404, ""},
		{"PUT", "/kv/a", "apple", 204, ""},
		{"PUT", "/kv/b", "banana", 204, ""},
		{"GET", "/kv/a", "", 200, "apple"},
		{"GET", "/kv/", "", 200, "a\nb\n"},
		{"DELETE", "/kv/a", "", 204, ""},
		{"GET", "/kv/a", "", 404, ""},
		{"PUT", "/kv/big", strings.Repeat("x", maxValue+1), 413, ""},
	})
}
