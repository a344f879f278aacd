package longtest

import (
	"os"
	"testing"
)

// Env is the variable `make test-long` sets to run the long tests.
const Env = "LAB_TEST_LONG"

// Enabled says whether the long tests run (Env is set to anything but "" or "0").
func Enabled() bool {
	v := os.Getenv(Env)
	return v != "" && v != "0"
}

// Skip skips t unless the long tests run, saying why t is long.
func Skip(t testing.TB, why string) {
	t.Helper()
	if !Enabled() {
		t.Skipf("long test (%s): `make test-long` runs it (%s=1)", why, Env)
	}
}
