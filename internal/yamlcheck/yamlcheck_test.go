package yamlcheck

import (
	"errors"
	"testing"
	"time"
)

func TestClosest(t *testing.T) {
	allowed := []string{"idle_timeout", "listener", "duration", "kill-instance"}
	cases := []struct{ in, want string }{
		{"idleTimeout", "idle_timeout"},
		{"idle_timout", "idle_timeout"},
		{"listner", "listener"},
		{"durattion", "duration"},
		{"kill_instance", "kill-instance"},
		{"colour", ""},
	}
	for _, c := range cases {
		if got := Closest(c.in, allowed); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDocument(t *testing.T) {
	cases := []struct{ src, want string }{
		{"", "f.yaml: the file is empty; a thing needs at least a and b"},
		{"a: [1\n", "f.yaml:1: YAML syntax: did not find expected ',' or ']'"},
		{"a: 1\n---\nb: 2\n", "f.yaml:2: a second YAML document (---); a thing file holds one"},
	}
	for _, c := range cases {
		_, err := Document("f.yaml", []byte(c.src), "thing", "a and b")
		var errs *Errors
		if !errors.As(err, &errs) || err.Error() != c.want {
			t.Errorf("Document(%q) = %v, want %q", c.src, err, c.want)
		}
	}
}

// TestParser walks a small file through the getters and checks that every
// problem is reported once, sorted, at its place.
func TestParser(t *testing.T) {
	src := `name: web
size: big
wait: 1500ms
tags: [a, {b: c}]
colour: red
`
	root, err := Document("f.yaml", []byte(src), "thing", "name")
	if err != nil {
		t.Fatal(err)
	}
	p := NewParser("f.yaml")
	m := p.Mapping(root, "", "name", "size", "wait", "tags", "color")
	var name string
	var size int
	var wait time.Duration
	var tags []string
	p.Str(m, "", "name", &name)
	p.Int(m, "", "size", &size)
	p.Dur(m, "", "wait", &wait, false)
	p.StrList(m, "", "tags", &tags)
	p.Errf("size", "reported twice")
	want := `f.yaml:2:7: size: "big" is not a whole number
f.yaml:3:7: wait: 1.5s is not a whole number of seconds; AWS takes whole seconds
f.yaml:4:11: tags[1]: want text, got a mapping
f.yaml:5:1: colour: unknown key; did you mean color?`
	if err := p.Err(); err == nil || err.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", err, want)
	}
	if name != "web" || !p.Has("name") || p.Has("color") || !p.Bad("size") {
		t.Errorf("name = %q, Has(name) = %v, Has(color) = %v, Bad(size) = %v", name, p.Has("name"), p.Has("color"), p.Bad("size"))
	}
}
