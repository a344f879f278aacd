// Package events is the lab's one event bus. Every component publishes typed
// events (instance launched, target health changed, ...) on a Bus; the console
// log, the JSONL journal, and later the TUI and the report are subscribers.
//
// Publishing never blocks on a slow subscriber and no subscriber loses an
// event: each subscriber has its own unbounded queue drained by a goroutine
// the bus owns. Close delivers everything queued, then returns.
//
// The Journal writes each envelope as one JSON line (events.jsonl), named by
// the event's Go type name. Each package that defines events registers them
// (Register, in an init function), so that Decode and Reader give a journal
// back as the real typed events; a type no package registered decodes as
// Unknown. The contract test round-trips every registered event.
package events
