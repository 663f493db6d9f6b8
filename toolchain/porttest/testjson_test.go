//go:build !tamago

package porttest

import (
	"slices"
	"testing"
)

// TestParseTestJSON: the go test -json reading that TestStd relies on tells
// a finished run from one whose binary died after its expected failures.
func TestParseTestJSON(t *testing.T) {
	const finished = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- FAIL: TestA (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: skipping test: cannot exec subprocess on tamago/amd64\n"}
{"Action":"skip","Package":"p","Test":"TestB"}
{"Action":"run","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:9: short mode\n"}
{"Action":"skip","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Output":"FAIL\n"}
{"Action":"fail","Package":"p"}
`
	r, err := parseTestJSON(finished)
	if err != nil {
		t.Fatal(err)
	}
	if !r.summary || r.action != "fail" || len(r.unended()) != 0 || !slices.Equal(r.failedTop(), []string{"TestA"}) {
		t.Errorf("finished run read as summary %v, action %q, unended %v, failed %v", r.summary, r.action, r.unended(), r.failedTop())
	}
	if te := r.testenvSkips(); !slices.Equal(te, []string{"TestB: skipping test: cannot exec subprocess on tamago/amd64"}) || r.count("skip") != 2 {
		t.Errorf("testenv skips %v of %d", te, r.count("skip"))
	}

	// The same expected failure, then the binary dies inside TestB.
	const crashed = `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"fail","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"SIGSEGV: segmentation violation\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.1s\n"}
{"Action":"fail","Package":"p"}
`
	r, err = parseTestJSON(crashed)
	if err != nil {
		t.Fatal(err)
	}
	if r.summary || !slices.Equal(r.unended(), []string{"TestB"}) {
		t.Errorf("crashed run read as summary %v, unended %v", r.summary, r.unended())
	}
}

// TestStdCaseProblems: a suite run that passes with fewer tests than its
// case pins (a flood of skips) fails, and so does one whose expected
// failure went missing.
func TestStdCaseProblems(t *testing.T) {
	const skipped = `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: skipping test: cannot exec subprocess on tamago/amd64\n"}
{"Action":"skip","Package":"p","Test":"TestB"}
{"Action":"run","Package":"p","Test":"TestC"}
{"Action":"skip","Package":"p","Test":"TestC"}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"pass","Package":"p"}
`
	r, err := parseTestJSON(skipped)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		c    stdCase
		want int
	}{
		{stdCase{pkg: "p", minPass: 1}, 0},
		{stdCase{pkg: "p", minPass: 3}, 1},                                               // two of three skipped
		{stdCase{pkg: "p", minPass: 1, fail: map[string]string{"TestA": "a reason"}}, 2}, // TestA passed, the package too
	} {
		if got := c.c.problems(r); len(got) != c.want {
			t.Errorf("%+v: problems %q, want %d", c.c, got, c.want)
		}
	}
}
