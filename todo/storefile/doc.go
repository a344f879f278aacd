// Package storefile is what others may know of SimplyDone's store without
// linking it: the database's file name in the shared data directory, and
// the SQLite WAL-index locks that the lab's store-outage fault takes and
// `lab down` checks. It imports nothing but the standard library, so the
// lab does not carry the SQLite driver to use it.
package storefile
