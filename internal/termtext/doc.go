// Package termtext makes text that instances control (a /health body, a log
// line, an error a user's image prints) safe to show on a terminal: control
// characters, escape sequences' introducers and bidirectional overrides are
// dropped, so such text cannot move the cursor, recolour or clear the
// console or the TUI, or forge a line of the lab's own.
package termtext
