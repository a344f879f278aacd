package scenarios

import (
	"strings"
	"testing"
)

func TestStackWithoutPostgreSQL(t *testing.T) {
	sc, err := Builtin("flash-sale")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sc.ResolveStackWithoutPostgreSQL()
	if err != nil || st.Name != "simplydone-peak" || st.Database != nil {
		t.Fatalf("flash-sale without PostgreSQL: %v, %v", st, err)
	}
	if st, err := (&Scenario{Stack: "multi-az"}).ResolveStackWithoutPostgreSQL(); st != nil || err != nil {
		t.Errorf("none named: %v, %v", st, err)
	}
	bad, err := Parse("s.yaml", []byte("name: s\nstack: multi-az\nstack_without_postgresql: read-replicas\nload: {phases: [{name: a, duration: 1m, rate: 1}]}\nslos: [success_rate >= 99%]\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.ResolveStackWithoutPostgreSQL()
	if err == nil || !strings.Contains(err.Error(), "s.yaml:3:27: stack_without_postgresql: stack read-replicas has a database section") {
		t.Errorf("a fallback with a database: %v", err)
	}
}
