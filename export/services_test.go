package export

import (
	"errors"
	"strings"
	"testing"

	"github.com/simplydone/lab/stack"
)

// A stack with several services is refused, by field, in both formats:
// the exporter writes one target group and one Auto Scaling group.
func TestServicesRefused(t *testing.T) {
	s, err := stack.Builtin("services")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{FormatTerraform, FormatCloudFormation} {
		err := Check(s, f)
		var se *stack.Errors
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "services: 2 services: the exporter writes one target group") {
			t.Errorf("%v: Check = %v; want the services refused by field", f, err)
		}
	}
}
