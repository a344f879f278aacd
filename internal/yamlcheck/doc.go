// Package yamlcheck decodes hand-written YAML files (the stack and the
// scenario) node by node, so that every problem can be reported at once and
// at its place, as FILE:LINE:COL: field.path: what is wrong; what is allowed.
//
// A Parser remembers where each value is by field path, refuses unknown keys
// with a "did you mean" hint, and reads scalars into Go values; the file's own
// package adds the rules that are particular to it.
package yamlcheck
