package load

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func TestMixPick(t *testing.T) {
	m := Mix{List: 5, Create: 2, Get: 2, Done: 1}
	tests := []struct {
		u    int
		want kind
	}{
		{0, kindList}, {4, kindList},
		{5, kindCreate}, {6, kindCreate},
		{7, kindGet}, {8, kindGet},
		{9, kindDone},
	}
	for _, tc := range tests {
		if got := m.pick(tc.u); got != tc.want {
			t.Errorf("pick(%d) = %s, want %s", tc.u, got, tc.want)
		}
	}
	onlyDone := Mix{Done: 3}
	for u := range 3 {
		if got := onlyDone.pick(u); got != kindDone {
			t.Errorf("only done: pick(%d) = %s", u, got)
		}
	}
}

func TestMixValidate(t *testing.T) {
	tests := []struct {
		mix     Mix
		wantErr string
	}{
		{DefaultMix, ""},
		{Mix{Create: 1}, ""},
		{Mix{List: -1, Create: 2}, "negative"},
		{Mix{}, "all be zero"},
	}
	for _, tc := range tests {
		err := tc.mix.validate()
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%+v: error %v, want %q", tc.mix, err, tc.wantErr)
		}
	}
	if (Mix{}).orDefault() != DefaultMix {
		t.Error("the zero Mix should mean DefaultMix")
	}
}

func newTestTargeter(t *testing.T, bases []string, mix Mix, seed uint64) *Targeter {
	t.Helper()
	tg, err := NewTargeter(bases, mix, rand.New(rand.NewPCG(seed, 1)), `lab "t"-`)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// kindOf recognises a target's request kind.
func kindOf(t *testing.T, tgt vegeta.Target) kind {
	t.Helper()
	path := tgt.URL[strings.Index(tgt.URL, "/api/"):]
	switch {
	case tgt.Method == http.MethodGet && strings.HasPrefix(path, "/api/todos?"):
		return kindList
	case tgt.Method == http.MethodPost && path == "/api/todos":
		return kindCreate
	case tgt.Method == http.MethodPost && strings.HasSuffix(path, "/done"):
		return kindDone
	case tgt.Method == http.MethodGet:
		return kindGet
	}
	t.Fatalf("unexpected target %s %s", tgt.Method, tgt.URL)
	return 0
}

func TestTargeterFallsBackToListUntilIDsExist(t *testing.T) {
	tg := newTestTargeter(t, []string{"http://127.0.1.1:80"}, Mix{Get: 1, Done: 1}, 1)
	var tgt vegeta.Target
	for range 20 {
		tg.Next(&tgt)
		if k := kindOf(t, tgt); k != kindList {
			t.Fatalf("got %s before any create was acknowledged", k)
		}
	}
	tg.AddID(42)
	tg.Next(&tgt)
	if k := kindOf(t, tgt); k != kindGet && k != kindDone {
		t.Fatalf("got %s with an id available", k)
	}
	if !strings.Contains(tgt.URL, "/api/todos/42") {
		t.Errorf("URL %s does not use the acknowledged id", tgt.URL)
	}
}

func TestTargeterMixBasesAndTitles(t *testing.T) {
	bases := []string{"http://127.0.1.1:8080", "http://127.0.2.1:8080", "http://127.0.3.1:8080"}
	tg := newTestTargeter(t, bases, DefaultMix, 7)
	tg.AddID(1)
	const n = 20000
	kinds := map[kind]int{}
	perBase := map[string]int{}
	titles := map[string]bool{}
	for range n {
		var tgt vegeta.Target
		tg.Next(&tgt)
		k := kindOf(t, tgt)
		kinds[k]++
		perBase[tgt.URL[:strings.Index(tgt.URL, "/api/")]]++
		if k == kindCreate {
			if tgt.Header.Get("Content-Type") != "application/json" {
				t.Fatal("create without a JSON content type")
			}
			var body struct{ Title string }
			if err := json.Unmarshal(tgt.Body, &body); err != nil {
				t.Fatalf("create body %s: %v", tgt.Body, err)
			}
			if titles[body.Title] {
				t.Fatalf("title %q repeated", body.Title)
			}
			titles[body.Title] = true
		}
	}
	want := map[kind]float64{kindList: 0.5, kindCreate: 0.2, kindGet: 0.2, kindDone: 0.1}
	for k, share := range want {
		if got := float64(kinds[k]) / n; got < share-0.02 || got > share+0.02 {
			t.Errorf("%s: share %.3f, want %.2f", k, got, share)
		}
	}
	for _, b := range bases {
		if got := float64(perBase[b]) / n; got < 0.3 || got > 0.37 {
			t.Errorf("base %s: share %.3f, want about a third", b, got)
		}
	}
}

func TestTargeterIsDeterministicForASeed(t *testing.T) {
	seq := func(seed uint64) []string {
		tg := newTestTargeter(t, []string{"http://127.0.1.1:1", "http://127.0.2.1:1"}, DefaultMix, seed)
		tg.AddID(3)
		tg.AddID(9)
		var out []string
		for range 50 {
			var tgt vegeta.Target
			tg.Next(&tgt)
			out = append(out, tgt.Method+" "+tgt.URL+" "+string(tgt.Body))
		}
		return out
	}
	a, b, c := seq(11), seq(11), seq(12)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Error("the same seed gave different requests")
	}
	if strings.Join(a, "\n") == strings.Join(c, "\n") {
		t.Error("different seeds gave the same requests")
	}
}
