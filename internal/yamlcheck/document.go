package yamlcheck

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Document returns the root node of the file's one YAML document, or the
// syntax error yaml reports, at the line it reports, as *Errors. kind names
// the file ("stack") and needs says what an empty file lacks. A file over
// MaxFileSize, or one that uses an alias (*name), is refused.
func Document(filename string, data []byte, kind, needs string) (*yaml.Node, error) {
	one := func(line int, msg string) error {
		return &Errors{List: []Error{{File: filename, Line: line, Msg: msg}}}
	}
	if len(data) > MaxFileSize {
		return nil, tooBig(filename, kind, int64(len(data)))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, one(0, "the file is empty; a "+kind+" needs at least "+needs)
		}
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, one(line, "YAML syntax: "+m[2])
		}
		return nil, one(0, "YAML syntax: "+strings.TrimPrefix(msg, "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, one(extra.Line, "a second YAML document (---); a "+kind+" file holds one")
	}
	if len(doc.Content) == 0 {
		return nil, one(0, "the file is empty")
	}
	if err := noAliases(filename, &doc); err != nil {
		return nil, err
	}
	return doc.Content[0], nil
}
