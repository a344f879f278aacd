package yamlcheck

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest stack or scenario file the lab reads: far
// above any hand-written file (the built-ins are a few KB), far below what
// would tie up the host's memory while parsing.
const MaxFileSize = 1 << 20

// ReadFile reads a stack or scenario file, refusing one over MaxFileSize
// before reading it (and a file that grows past it while being read). kind
// names the file ("stack") in the error. Errors from the filesystem are
// returned as they are, so errors.Is(err, fs.ErrNotExist) still works.
func ReadFile(path, kind string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &Errors{List: []Error{{File: path, Msg: fmt.Sprintf("not a regular file (%s); a %s is a YAML file", fi.Mode().Type(), kind)}}}
	}
	if fi.Size() > MaxFileSize {
		return nil, tooBig(path, kind, fi.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, tooBig(path, kind, int64(len(data)))
	}
	return data, nil
}

func tooBig(file, kind string, size int64) error {
	return &Errors{List: []Error{{File: file, Msg: fmt.Sprintf(
		"the file is %d bytes; a %s file may be at most %d bytes (1 MiB)", size, kind, MaxFileSize)}}}
}

// noAliases reports the first alias (*name) in the document, at its place
// and field path. The lab refuses aliases rather than capping their
// expansion: a stack or scenario is short enough to write out, and a few KB
// of nested aliases otherwise expand into millions of values as the file is
// walked (issue 19: 12 KB took 28 s and 4.6 GB).
func noAliases(file string, root *yaml.Node) error {
	var found *Error
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if found != nil || n == nil {
			return
		}
		switch n.Kind {
		case yaml.AliasNode:
			found = &Error{File: file, Line: n.Line, Col: n.Column, Field: path, Msg: fmt.Sprintf(
				"the alias *%s is not allowed; write the value out (YAML anchors and aliases are refused so that a small file cannot expand into a huge one)", n.Value)}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind == yaml.AliasNode {
					walk(k, path)
					continue
				}
				walk(n.Content[i+1], Sub(path, k.Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, Index(path, i))
			}
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		}
	}
	walk(root, "")
	if found == nil {
		return nil
	}
	return &Errors{List: []Error{*found}}
}

// NotA refuses a file that is not a kind at all: its top level is not a
// mapping, or has none of the kind's keys. The file's content is not shown,
// since it may be any file a path led to (a scenario's stack: ../../etc/shadow
// must not print the file back). It returns nil for a file worth checking
// key by key.
func NotA(filename string, root *yaml.Node, kind string, keys ...string) error {
	if root.Kind == yaml.MappingNode {
		for i := 0; i < len(root.Content); i += 2 {
			if k := root.Content[i]; k.Kind == yaml.ScalarNode && slices.Contains(keys, k.Value) {
				return nil
			}
		}
	}
	return &Errors{List: []Error{{File: filename, Msg: fmt.Sprintf(
		"not a %s file: its top level is not a mapping with any of the keys %s (its content is not shown)", kind, strings.Join(keys, ", "))}}}
}
