package storefile

import "testing"

func TestBootedMark(t *testing.T) {
	dir := t.TempDir()
	if HasBooted(dir, "i-01") {
		t.Fatal("booted before any mark")
	}
	if err := MarkBooted(dir, "i-01"); err != nil {
		t.Fatal(err)
	}
	if !HasBooted(dir, "i-01") || HasBooted(dir, "i-02") {
		t.Fatal("the mark is the instance's own")
	}
}
