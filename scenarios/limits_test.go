package scenarios

import (
	"strings"
	"testing"
)

func TestTotalDurationBound(t *testing.T) {
	src := top + `load:
  phases:
    - {name: a, duration: 10h, rate: 20}
    - {name: b, duration: 10h, rate: 20}
    - {name: c, duration: 10h, rate: 20}
    - {name: d, duration: 2562047h, rate: 20}
` + slos
	_, err := Parse("s.yaml", []byte(src))
	want := "s.yaml:7:27: load.phases[2].duration: 10h takes the load to over 24h in all (AWS time), the most a scenario may run; shorten the phases"
	if err == nil || err.Error() != want {
		t.Errorf("Parse = %v\nwant %s", err, want)
	}
	ok := top + "load:\n  phases:\n    - {name: a, duration: 12h, rate: 20}\n    - {name: b, duration: 12h, rate: 20}\n" + slos
	if _, err := Parse("s.yaml", []byte(ok)); err != nil {
		t.Errorf("24h in all: %v", err)
	}
}

func TestScenarioAliasRefused(t *testing.T) {
	src := top + "load:\n  phases:\n    - &p {name: a, duration: 1m, rate: 20}\n    - *p\n" + slos
	_, err := Parse("s.yaml", []byte(src))
	if err == nil || !strings.HasPrefix(err.Error(), "s.yaml:6:7: load.phases[1]: the alias *p is not allowed") {
		t.Errorf("Parse = %v, want the alias refused at load.phases[1]", err)
	}
}
