// Package todo is SimplyDone, the lab's demo workload: a small todo app meant
// to run as many stateless instances behind a load balancer, all sharing one
// database: PostgreSQL when the stack has one (Config.DatabaseURL, the
// DATABASE_URL variable), else the embedded SQLite database (simplydone.db)
// in a shared data directory.
//
// # API
//
// All bodies are JSON; request bodies need Content-Type: application/json
// and are capped at MaxBodyBytes (16 KiB).
//
//	GET    /api/todos?limit=N&cursor=C  page of todos in id order:
//	                                    {"todos":[...],"next_cursor":"..."}
//	                                    limit defaults to 50 and is capped at
//	                                    200; next_cursor is absent on the last page
//	POST   /api/todos                   create {"title":"...","done":false} -> 201
//	GET    /api/todos/{id}              one todo
//	PATCH  /api/todos/{id}              update the given fields of {"title","done"}
//	PUT    /api/todos/{id}              replace: both "title" and "done" required
//	DELETE /api/todos/{id}              -> 204
//	POST   /api/todos/{id}/done         mark done (idempotent), no body needed
//	GET    /api/cart                    the user's cart: {"items":[...]}
//	POST   /api/cart/items              add {"item":"..."} (1-200 characters) -> 201
//	                                    and the cart; it keeps its newest 50
//	GET    /health                      200 {"status":"ok","instance":"..","zone":".."}
//	                                    when SELECT 1 answers within 1 s, else 503
//	GET    /                            a small HTML page (embedded, vanilla JS)
//
// A todo is {"id","title","done","created_at","updated_at"}. Titles are
// trimmed and must then be 1 to 500 characters. Cursors are opaque.
//
// Client mistakes never get a 5xx: malformed JSON, unknown fields, wrong
// field types, trailing data and missing required fields get 400; a
// non-numeric id 400; an unknown id or route 404; a wrong method 405 with an
// Allow header; a body over the limit 413; a missing or non-JSON
// Content-Type 415. Every error body is {"error":"..."}. Every response,
// errors included, carries the X-Instance-Id header so that a load-balancer
// test can tell which instance served it. Lock contention that outlasts the
// busy timeout gets 503 with Retry-After.
//
// # Storage
//
// The store is modernc.org/sqlite (pure Go, builds with CGO_ENABLED=0) in WAL
// mode with a 5 s busy timeout; write transactions start with BEGIN IMMEDIATE,
// so instances queue for the single write lock rather than failing. The
// schema is created with CREATE TABLE IF NOT EXISTS, which is safe when many
// instances boot together. A write is answered with 2xx only after its
// transaction has committed. Ids come from AUTOINCREMENT and are never
// reused, which keeps cursors stable under concurrent inserts and deletes.
//
// With PostgreSQL (PGStore, through pgx's pool) writes and the reads that
// answer them go to the writer endpoint, lists and gets to the reader
// endpoint when there is one (Config.ReaderURL, DATABASE_READER_URL), where
// they may be stale by the replica's lag. Each endpoint's pool holds at most
// Config.PoolSize connections (DefaultPoolSize, 10, as web frameworks
// default to), so scaling the web tier out multiplies the database's
// connections. A database that cannot be reached, takes no more connections
// or has become read-only (a failover) gets 503 with Retry-After, and the
// instance logs "database connection error"; a connection a failover broke
// fails its request and is replaced on the next.
//
// # The cart: session state
//
// The cart is per-user state: a user is known by the simplydone_session
// cookie an instance sets on its first answer. Config.Cart (SIMPLYDONE_CART)
// says where carts live: "memory" (the default) keeps them in the instance's
// own memory, as a naive application does, so a user whose next request
// reaches another instance (no sticky sessions, or its instance died or
// scaled in) finds an empty cart; "database" keeps them in the shared
// database (read and written on the writer), so any instance serves them.
// That is the stateless-application lesson of running behind a load
// balancer.
//
// # Synthetic CPU cost
//
// Config.CPUCost makes every /api/ request (not /health, not the HTML page)
// spend that much CPU time before it is handled: the request's goroutine,
// locked to its thread, hashes a 32-byte value with sha256 in a loop until
// the thread's own CPU clock (CLOCK_THREAD_CPUTIME_ID) has advanced by
// CPUCost. An instance serving R requests per second therefore needs
// R x CPUCost cores, and CPU-driven autoscaling sees load that grows with
// traffic. When the instance is short of CPU (its share is used up), each
// request still costs CPUCost of CPU and simply takes longer on the wall, as
// real work does on an overloaded instance.
//
// # Lifecycle
//
// Run waits Config.BootDelay (a simulated boot), opens the store, listens and
// serves until its context is done, then shuts down gracefully: it stops
// accepting connections, lets in-flight requests finish within
// ShutdownTimeout, closes the store and returns. The server's IdleTimeout
// (120 s) outlives an ALB's 60 s idle timeout, as AWS recommends for
// targets. NewHandler and OpenStore are exported for tests (httptest).
package todo
