package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
)

//go:embed builtin/*.yaml
var builtins embed.FS

// BuiltinNames lists the built-in scenarios, sorted.
func BuiltinNames() []string {
	entries, _ := fs.ReadDir(builtins, "builtin")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Builtin parses the built-in scenario called name. Each call returns a
// fresh copy.
func Builtin(name string) (*Scenario, error) {
	file := path.Join("builtin", name+".yaml")
	data, err := builtins.ReadFile(file)
	if err != nil || strings.ContainsAny(name, "/\\") {
		return nil, fmt.Errorf("no built-in scenario %q; built-ins are %s", name, strings.Join(BuiltinNames(), ", "))
	}
	return Parse(file, data)
}

// Describe is the one-line description of a built-in scenario, or "" when
// there is no such built-in.
func Describe(name string) string {
	s, err := Builtin(name)
	if err != nil {
		return ""
	}
	return s.Description
}

// Resolve returns the built-in scenario of that name if there is one, else
// loads nameOrPath as a file.
func Resolve(nameOrPath string) (*Scenario, error) {
	if slices.Contains(BuiltinNames(), nameOrPath) {
		return Builtin(nameOrPath)
	}
	s, err := Load(nameOrPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("scenario %q: not a built-in (%s) and no such file", nameOrPath, strings.Join(BuiltinNames(), ", "))
	}
	return s, err
}
