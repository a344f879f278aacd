package stack

import "github.com/simplydone/lab/internal/yamlcheck"

// Error is one problem in a stack file, at the value that is wrong (or at
// the mapping that lacks a required key). Its Error method formats it as
// FILE:LINE:COL: field.path: message.
type Error = yamlcheck.Error

// Errors is every problem found in one stack file, sorted by position.
type Errors = yamlcheck.Errors
