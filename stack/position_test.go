package stack

import "testing"

func TestAtNamesTheFieldsLine(t *testing.T) {
	s, err := Parse("s.yaml", []byte("name: x\nlaunch_template:\n  port: 8080\n  command: [nope]\n"+
		"target_group: {port: 8080}\nauto_scaling_group: {min_size: 1, max_size: 2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{
		"launch_template.command": "s.yaml:4:12",
		"launch_template.image":   "s.yaml", // not set in the file
		"name":                    "s.yaml:1:7",
	} {
		if got := s.At(field); got != want {
			t.Errorf("At(%q) = %q, want %q", field, got, want)
		}
	}
	if got := (&Stack{}).At("launch_template.command"); got != "launch_template.command" {
		t.Errorf("a stack without its file: %q", got)
	}
}
