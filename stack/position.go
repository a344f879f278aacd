package stack

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// At names where a field (a dotted path such as "launch_template.command")
// is set in the stack's file, as FILE:LINE:COL, for an error found after
// parsing (the preflight's). A field the file does not set gives FILE; a
// stack without its source gives the field alone.
func (s *Stack) At(field string) string {
	if s.File == "" {
		return field
	}
	var root yaml.Node
	if len(s.Source) == 0 || yaml.Unmarshal(s.Source, &root) != nil || len(root.Content) == 0 {
		return s.File
	}
	n := root.Content[0]
	for _, key := range strings.Split(field, ".") {
		if n.Kind != yaml.MappingNode {
			return s.File
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return s.File
		}
		n = next
	}
	return fmt.Sprintf("%s:%d:%d", s.File, n.Line, n.Column)
}
