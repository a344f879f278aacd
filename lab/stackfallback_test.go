package lab

import (
	"errors"
	"strings"
	"testing"

	"github.com/simplydone/lab/scenarios"
	"github.com/simplydone/lab/sim/rds"
	"github.com/simplydone/lab/stack"
)

// The flash sale runs on its Multi-AZ database stack where PostgreSQL is
// installed, and on the same web tier with SQLite where it is not, saying
// why; a stack given by hand (--stack) is never swapped.
func TestFlashSaleWithoutPostgreSQL(t *testing.T) {
	sc, err := scenarios.Builtin("flash-sale")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sc.ResolveStack()
	if err != nil || st.Database == nil || !st.Database.MultiAZ {
		t.Fatalf("flash-sale's stack %v (%v): want a Multi-AZ database", st, err)
	}
	defer func(f func() (rds.Install, error)) { findPostgres = f }(findPostgres)

	findPostgres = func() (rds.Install, error) { return rds.Install{BinDir: "/usr/lib/postgresql/17/bin"}, nil }
	o := RunOptions{Scenario: sc, Stack: st}
	if note, err := withoutPostgreSQL(&o); err != nil || note != "" || o.Stack != st {
		t.Errorf("with PostgreSQL: note %q, %v, stack %s", note, err, o.Stack.Name)
	}

	findPostgres = func() (rds.Install, error) { return rds.Install{}, rds.ErrNotInstalled }
	note, err := withoutPostgreSQL(&o)
	if err != nil || o.Stack.Name != "simplydone-peak" || o.Stack.Database != nil {
		t.Fatalf("without PostgreSQL: stack %s, %v", o.Stack.Name, err)
	}
	l := &Lab{opts: Options{Stack: o.Stack, StoreNote: note}}
	line := l.storeLine()
	for _, want := range []string{"Store: SimplyDone keeps its todos in its embedded SQLite store", "stack simplydone-peak, not simplydone-peak-multi-az", "PostgreSQL, which is not installed here", rds.InstallCommand} {
		if !strings.Contains(line, want) {
			t.Errorf("store line %q lacks %q", line, want)
		}
	}

	other, _ := stack.Builtin("multi-az") // --stack multi-az: the user's choice stands, and the preflight refuses it
	o = RunOptions{Scenario: sc, Stack: other}
	if note, err := withoutPostgreSQL(&o); err != nil || note != "" || o.Stack != other {
		t.Errorf("--stack multi-az without PostgreSQL was swapped: %q, %v, %s", note, err, o.Stack.Name)
	}
	findPostgres = func() (rds.Install, error) { return rds.Install{}, errors.New("postgres --version: exit status 1") }
	o = RunOptions{Scenario: sc, Stack: st}
	if _, err := withoutPostgreSQL(&o); err != nil || o.Stack != st {
		t.Errorf("a broken install is the preflight's to report, not a fallback: %v, %s", err, o.Stack.Name)
	}
	// a wrong name is refused where PostgreSQL is installed too, at its line
	findPostgres = func() (rds.Install, error) { return rds.Install{BinDir: "/usr/lib/postgresql/17/bin"}, nil }
	bad := *sc
	bad.StackWithoutPostgreSQL = "simplydone-paek"
	o = RunOptions{Scenario: &bad, Stack: st}
	if _, err := withoutPostgreSQL(&o); err == nil || !strings.Contains(err.Error(), "simplydone-paek") {
		t.Errorf("a misspelt stack_without_postgresql: %v; want it refused", err)
	}
}
