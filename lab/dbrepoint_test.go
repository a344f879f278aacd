package lab

import (
	"maps"
	"testing"

	"github.com/simplydone/lab/stack"
)

// TestRepointVersions: repoint-database's launch template version is one
// past every version the template has (the stack's and those made before),
// carries the version it replaces with the new database URLs over it, and
// is what a launch of that version gets; the stack's versions are as they
// were, and each service's template counts apart.
func TestRepointVersions(t *testing.T) {
	st := &stack.Stack{LaunchTemplate: stack.LaunchTemplate{Versions: []stack.LaunchTemplateVersion{
		{Version: 2, Environment: map[string]string{"FEATURE": "on", "DATABASE_URL": "postgres://old"}},
	}}}
	l := &Lab{}
	f, other := &fleet{l: l, st: st}, &fleet{l: l, st: &stack.Stack{}}
	v := l.newVersion(f, 2, map[string]string{"DATABASE_URL": "postgres://promoted"})
	if v != 3 {
		t.Fatalf("version %d, want 3 (one past the stack's 2)", v)
	}
	if got, want := l.versionEnvironment(f, 3), map[string]string{"FEATURE": "on", "DATABASE_URL": "postgres://promoted"}; !maps.Equal(got, want) {
		t.Fatalf("version 3's environment %v, want %v", got, want)
	}
	if got := l.versionEnvironment(f, 2); got["DATABASE_URL"] != "postgres://old" {
		t.Fatalf("the stack's version 2 changed: %v", got)
	}
	if v := l.newVersion(f, 3, map[string]string{"DATABASE_URL": "postgres://source"}); v != 4 || l.versionEnvironment(f, 4)["FEATURE"] != "on" {
		t.Fatalf("a second repoint: version %d, %v", v, l.versionEnvironment(f, 4))
	}
	if v := l.newVersion(other, 1, map[string]string{"DATABASE_URL": "x"}); v != 2 {
		t.Fatalf("another service's template: version %d, want 2", v)
	}
	if got := l.versionEnvironment(other, 1); got != nil {
		t.Fatalf("version 1 of a template without versions: %v", got)
	}
}

// TestAppDatabaseFollowsTheVersion: the database lost_writes is checked on
// is the one each group's launch template version names now, not the last
// repoint's: a deploy to a stack version after a repoint brings the
// source's DATABASE_URL back, and groups that disagree are named.
func TestAppDatabaseFollowsTheVersion(t *testing.T) {
	st := &stack.Stack{LaunchTemplate: stack.LaunchTemplate{
		Environment: map[string]string{"DATABASE_URL": "postgres://u:secret@source:5432/app"},
		Versions:    []stack.LaunchTemplateVersion{{Version: 2, Environment: map[string]string{"FEATURE": "on"}}},
	}}
	l := &Lab{}
	f := &fleet{l: l, st: st}
	v := l.newVersion(f, 1, map[string]string{"DATABASE_URL": "postgres://u:secret@promoted:5432/app"})
	if got := l.databaseURLAt(f, v); got != "postgres://u:secret@promoted:5432/app" {
		t.Fatalf("the repoint's version %d: DATABASE_URL %q", v, got)
	}
	if got := l.databaseURLAt(f, 2); got != "postgres://u:secret@source:5432/app" {
		t.Fatalf("a deploy to the stack's version 2 after the repoint: DATABASE_URL %q, want the source's", got)
	}

	for _, tc := range []struct {
		name     string
		gs       []groupDatabase
		id, note string
	}{
		{"one group", []groupDatabase{{group: "the group", db: "db-replica-1"}}, "db-replica-1", ""},
		{"all agree", []groupDatabase{{group: "service web", db: "db"}, {group: "service api", db: "db"}}, "db", ""},
		{"split: most win", []groupDatabase{{group: "service web", db: "db"}, {group: "service api", db: "db-replica-1"}, {group: "service jobs", db: "db-replica-1"}},
			"db-replica-1", "; not checked: service web writes to db"},
		{"tie: the first group's", []groupDatabase{{group: "service web", db: "db-replica-1"}, {group: "service api", db: "db"}},
			"db-replica-1", "; not checked: service api writes to db"},
		{"not the tier's", []groupDatabase{{group: "the group", url: "postgres://u:secret@elsewhere:5432/x"}},
			"", "; not checked: the group's DATABASE_URL (postgres://u:xxxxx@elsewhere:5432/x) reaches none of the tier's DB instances"},
		{"no group", nil, "", ""},
	} {
		id, note := chooseAppDatabase(tc.gs)
		if id != tc.id || note != tc.note {
			t.Errorf("%s: %q %q, want %q %q", tc.name, id, note, tc.id, tc.note)
		}
	}
}
