package rundir

import (
	"strings"
	"testing"
)

// A verdict's reason may quote what an instance said (a launch failure's
// output): it is printed without control characters.
func TestReasonPrintedWithoutControlCharacters(t *testing.T) {
	var b strings.Builder
	(&Summary{Verdict: Fail, Reason: "launch failed: \x1b[2Jbind: address in use\nPASS"}).WriteText(&b)
	if strings.ContainsRune(b.String(), 0x1b) || !strings.Contains(b.String(), "  launch failed: [2Jbind: address in use PASS\n") {
		t.Errorf("summary:\n%q", b.String())
	}
}
