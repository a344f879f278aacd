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
