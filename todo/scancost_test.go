package todo

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The scan runs before each statement on the statement's own endpoint:
// the reader for lists and gets, the writer for writes. Here the reader's
// database cancels any statement after 1 ms and the writer's does not, so
// a scan that takes far longer fails reads and lets writes through.
func TestScanCostOnEachEndpoint(t *testing.T) {
	writerURL, readerURL := testPostgres(t), testPostgres(t)
	ctx := context.Background()
	for _, u := range []string{writerURL, readerURL} { // the schema, before the reader's timeout
		s, err := OpenPostgres(ctx, PGConfig{WriterURL: u})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	c, err := pgx.Connect(ctx, readerURL)
	if err != nil {
		t.Fatal(err)
	}
	db := readerURL[strings.LastIndex(readerURL, "/")+1 : strings.Index(readerURL, "?")]
	if _, err := c.Exec(ctx, "ALTER DATABASE "+db+" SET statement_timeout = '1ms'"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)

	pg, err := OpenPostgres(ctx, PGConfig{WriterURL: writerURL, ReaderURL: readerURL})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if r := withScanCost(pg, 0); r != Repo(pg) {
		t.Errorf("no rows: the store is wrapped")
	}
	s := withScanCost(pg, 2_000_000) // about a second of a core
	created, err := s.Create(ctx, "written", false)
	if err != nil {
		t.Fatalf("create on the writer: %v", err)
	}
	if _, err := s.List(ctx, 0, 10); err == nil {
		t.Error("list: the scan did not run on the reader (its 1 ms timeout did not cancel it)")
	}
	if _, err := s.Get(ctx, created.ID); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("get: %v; want the reader's timeout", err)
	}
}
