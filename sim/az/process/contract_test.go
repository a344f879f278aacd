package process

import (
	"testing"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/aztest"
)

// The process runtime passes the contract every az.Runtime must pass.
func TestContract(t *testing.T) {
	aztest.RunContract(t,
		func(t *testing.T) az.Runtime { return newRuntime(t) },
		func(t *testing.T, addr string) az.Spec { return spec(t, addr, nil) })
}
