// Package events is the lab's one event bus. Every component publishes typed
// events (instance launched, target health changed, ...) on a Bus; the console
// log, the JSONL journal, and later the TUI and the report are subscribers.
//
// Publishing never blocks on a slow subscriber and no subscriber loses an
// event: each subscriber has its own unbounded queue drained by a goroutine
// the bus owns. Close delivers everything queued, then returns.
package events
