package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/simplydone/lab/internal/yamlcheck"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

var builtins = yamlcheck.Builtins{FS: builtinFS, Kind: "scenario"}

// BuiltinNames lists the built-in scenarios, sorted.
func BuiltinNames() []string { return builtins.Names() }

// Builtin parses the built-in scenario called name. Each call returns a
// fresh copy.
func Builtin(name string) (*Scenario, error) {
	file, data, err := builtins.Read(name)
	if err != nil {
		return nil, err
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
