package yamlcheck

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Builtins is a set of built-in YAML files (stacks or scenarios) embedded
// under builtin/, named by their file name without .yaml.
type Builtins struct {
	FS   fs.FS
	Kind string // "stack", "scenario": for error messages
}

// Names lists the built-ins, sorted.
func (b Builtins) Names() []string {
	entries, _ := fs.ReadDir(b.FS, "builtin")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Read returns the built-in's file name and contents, or an error that
// lists the built-ins there are.
func (b Builtins) Read(name string) (string, []byte, error) {
	file := path.Join("builtin", name+".yaml")
	data, err := fs.ReadFile(b.FS, file)
	if err != nil || strings.ContainsAny(name, "/\\") {
		return "", nil, fmt.Errorf("no built-in %s %q; built-ins are %s", b.Kind, name, strings.Join(b.Names(), ", "))
	}
	return file, data, nil
}
