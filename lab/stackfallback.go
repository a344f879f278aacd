package lab

import (
	"errors"
	"fmt"

	"github.com/simplydone/lab/sim/rds"
)

// A scenario may run its stack's data tier only where PostgreSQL is
// installed: its stack_without_postgresql names the stack to run instead
// (the same web tier, SimplyDone on its embedded SQLite store), as the
// default flash sale does. The run says at start which store it uses and,
// when it fell back, why.

// withoutPostgreSQL swaps o.Stack for the scenario's stack without a
// database when the scenario's own stack (not one given with --stack) has
// a database and this host has no PostgreSQL server; it returns why, for
// the run's Store line. Any other trouble finding PostgreSQL is left to
// the preflight, which refuses the stack with the command that installs it.
func withoutPostgreSQL(o *RunOptions) (string, error) {
	sc, st := o.Scenario, o.Stack
	if sc == nil || sc.StackWithoutPostgreSQL == "" {
		return "", nil
	}
	// resolved on every host, so that a wrong name shows where PostgreSQL is installed too
	fb, err := sc.ResolveStackWithoutPostgreSQL()
	if err != nil {
		return "", err
	}
	if st == nil || st.Database == nil || st.Name != sc.Stack {
		return "", nil
	}
	if _, err := findPostgres(); !errors.Is(err, rds.ErrNotInstalled) {
		return "", nil
	}
	o.Stack = fb
	return fmt.Sprintf("stack %s, not %s: %s's database (%s) needs PostgreSQL, which is not installed here (as root, `make run-deps` or %s installs it)",
		fb.Name, st.Name, st.Name, rds.Kind(st.Database), rds.InstallCommand), nil
}

// findPostgres is rds.Find; tests replace it.
var findPostgres = func() (rds.Install, error) { return rds.Find() }

// storeLine is the run's start line saying where SimplyDone keeps its
// todos: nothing where the stack has a database (the Database lines say
// which) or runs another program, else its embedded SQLite store, and why
// when the scenario asked for a database.
func (l *Lab) storeLine() string {
	cmd := l.opts.Stack.LaunchTemplate.Command
	if l.opts.Stack.Database != nil || len(cmd) == 0 || cmd[0] != BuiltinCommand {
		return "" // the Database lines say where; or not SimplyDone: the lab cannot tell
	}
	line := "Store: SimplyDone keeps its todos in its embedded SQLite store in the run's data directory (the stack has no database section)"
	if n := l.opts.StoreNote; n != "" {
		line = "Store: SimplyDone keeps its todos in its embedded SQLite store in the run's data directory; " + n
	}
	return line
}
