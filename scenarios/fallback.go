package scenarios

import (
	"github.com/simplydone/lab/internal/yamlcheck"
	"github.com/simplydone/lab/stack"
)

// ResolveStackWithoutPostgreSQL returns the stack_without_postgresql
// stack, resolved as stack: is (a built-in, or a file beside the
// scenario); it must have no database section. nil, nil when the scenario
// names none.
func (s *Scenario) ResolveStackWithoutPostgreSQL() (*stack.Stack, error) {
	if s.StackWithoutPostgreSQL == "" {
		return nil, nil
	}
	c := *s
	c.Stack, c.stackAt = s.StackWithoutPostgreSQL, s.fallbackAt
	if c.stackAt.File == "" {
		c.stackAt = yamlcheck.Error{File: s.File, Field: "stack_without_postgresql"}
	}
	st, err := c.ResolveStack()
	if err != nil {
		return nil, err
	}
	if st.Database != nil {
		at := c.stackAt
		at.Msg = "stack " + st.Name + " has a database section; the stack to run without PostgreSQL must have none"
		return nil, at
	}
	return st, nil
}
