package longtest

import "testing"

func TestEnabled(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{{"", false}, {"0", false}, {"1", true}, {"yes", true}} {
		t.Setenv(Env, c.v)
		if got := Enabled(); got != c.want {
			t.Errorf("%s=%q: Enabled() = %v, want %v", Env, c.v, got, c.want)
		}
	}
}

func TestSkipSkipsUnlessEnabled(t *testing.T) {
	t.Setenv(Env, "")
	ran := false
	t.Run("off", func(t *testing.T) {
		Skip(t, "test")
		ran = true
	})
	if ran {
		t.Error("Skip let a long test run with the long tests off")
	}
	t.Setenv(Env, "1")
	t.Run("on", func(t *testing.T) {
		Skip(t, "test")
		ran = true
	})
	if !ran {
		t.Error("Skip skipped a long test with the long tests on")
	}
}
