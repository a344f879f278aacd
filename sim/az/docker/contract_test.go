package docker

import (
	"testing"

	"github.com/simplydone/lab/sim/az"
	"github.com/simplydone/lab/sim/az/aztest"
)

// The Docker runtime passes the contract every az.Runtime must pass, with
// the real SimplyDone in its image.
func TestContract(t *testing.T) {
	needEngine(t)
	aztest.RunContract(t,
		func(t *testing.T) az.Runtime { return newRuntime(t) },
		func(t *testing.T, addr string) az.Spec { return spec(t, simplydoneBin, addr, nil) })
}
