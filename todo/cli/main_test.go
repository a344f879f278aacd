package cli

import "testing"

func TestMainRefusesBadInputWithStatus1(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"--cpu-cost", "-1s"}, {"extra"}, {"--broken", "everything"}, {"--db-pool", "-1"}, {"--reader-url", "postgres://lab@127.0.0.1:1/db"}} {
		if got := Main(args); got != 1 {
			t.Errorf("Main(%q) = %d, want 1", args, got)
		}
	}
	t.Setenv("SIMPLYDONE_MAX_INFLIGHT", "many")
	if got := Main(nil); got != 1 {
		t.Errorf("SIMPLYDONE_MAX_INFLIGHT=many: Main = %d, want 1", got)
	}
}

func TestHelpIsNotAFailure(t *testing.T) {
	if got := Main([]string{"-h"}); got != 0 {
		t.Fatalf("Main(-h) = %d, want 0", got)
	}
}
