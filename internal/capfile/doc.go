// Package capfile caps a log file at a stated size per run: the access log
// and each instance's output stop growing at Limit bytes, with one note
// line saying so, so that a long `lab up` cannot fill the disk. The first
// Limit bytes are kept (they hold the run's start, which the report reads);
// what comes later is counted, not written.
package capfile
