package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// agentsStack is a two-zone stack whose zones run on agents' hosts.
const agentsStack = `name: hosts
zones:
  - {name: us-east-1a, agent: "169.254.1.250:7450"}
  - {name: us-east-1b}
target_group: {port: 8080}
launch_template: {command: [app]}
auto_scaling_group: {min_size: 1, max_size: 3}
`

// TestSLOsOnPerHostStoresAreRefused: with zones on agents each host keeps
// its own SimplyDone store, so lost_writes and stale_reads cannot be
// judged; an SLO on them is refused at its line, naming the value and why;
// other SLOs, and the same SLOs on a stack without agents, are accepted.
func TestSLOsOnPerHostStoresAreRefused(t *testing.T) {
	dir := t.TempDir()
	withDB := agentsStack + "database: {engine: postgres, db_instance_class: db.t3.micro}\n"
	for name, data := range map[string]string{"hosts.yaml": agentsStack, "web.yaml": stackFile, "hostsdb.yaml": withDB} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "sale.yaml")
	src := "name: sale\nstack: hosts.yaml\n" + phases + "slos:\n  - success_rate >= 99%\n  - lost_writes == 0\n  - stale_reads <= 3\n"
	_, err := Parse(file, []byte(src))
	if err == nil {
		t.Fatal("a scenario judging lost_writes on a stack with per-host stores was accepted")
	}
	why := "writes are not checked across hosts: zones run on other hosts (us-east-1a on agent 169.254.1.250:7450), each keeping its own SimplyDone store: a write acknowledged on one host is not found through another; " +
		"remove this SLO, give the stack a database (one store for every host), or run every zone on this host (no agent: in the stack's zones:)"
	for _, want := range []string{
		file + `:9:5: slos[1]: "lost_writes == 0" cannot be judged with stack hosts.yaml: ` + why,
		file + `:10:5: slos[2]: "stale_reads <= 3" cannot be judged with stack hosts.yaml: ` + why,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error:\n%v\nwant a line:\n%s", err, want)
		}
	}
	if strings.Contains(err.Error(), "slos[0]") {
		t.Errorf("success_rate refused too:\n%v", err)
	}

	// The same SLOs on a stack on one host are judged.
	if _, err := Parse(file, []byte(strings.Replace(src, "hosts.yaml", "web.yaml", 1))); err != nil {
		t.Errorf("on a stack without agents: %v", err)
	}
	// With a database the store is the data tier, one for every host: judged.
	if _, err := Parse(file, []byte(strings.Replace(src, "hosts.yaml", "hostsdb.yaml", 1))); err != nil {
		t.Errorf("on the agents' stack with a database: %v", err)
	}
	// Other SLOs on the agents' stack are accepted.
	if _, err := Parse(file, []byte("name: sale\nstack: hosts.yaml\n"+phases+slos)); err != nil {
		t.Errorf("success_rate on the agents' stack: %v", err)
	}
}
