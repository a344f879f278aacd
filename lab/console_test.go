package lab

import (
	"strings"
	"testing"
	"time"

	"github.com/simplydone/lab/chaos"
	"github.com/simplydone/lab/events"
)

// Text an instance controls (here a /health body in a revert's note) reaches
// the console without its control characters: it cannot clear the screen or
// forge a line of the lab's own.
func TestConsoleStripsControlCharacters(t *testing.T) {
	start := time.Unix(0, 0)
	var b strings.Builder
	printConsole(&b, events.Envelope{Time: start.Add(65 * time.Second), Event: chaos.FaultReverted{N: 1, Action: "store-outage",
		Note: "/health answered 503 \x1b[2J\x1b[Hdown\n+01:10  Verdict: PASS"}}, start)
	printConsole(&b, events.Envelope{Time: start, Event: Note{Text: "two\r\nlines\x1b]0;pwned\x07"}}, start)
	want := "+01:05  Chaos #1: store-outage: /health answered 503 [2J[Hdown +01:10  Verdict: PASS\ntwo\nlines]0;pwned\n"
	if b.String() != want {
		t.Errorf("console:\n%q\nwant\n%q", b.String(), want)
	}
}
