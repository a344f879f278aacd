package events

import (
	"encoding/json"
	"testing"
)

func TestDecodeKeepsAnUnregisteredEventAsWritten(t *testing.T) {
	line := []byte(`{"seq":3,"time":"2026-01-01T00:00:00Z","wall":"2026-01-01T00:00:01Z","kind":"lab","type":"NotRegistered","event":{"a":1},"message":"said so"}`)
	e, err := Decode(line)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := e.Event.(Unknown)
	if !ok || u.Type != "NotRegistered" || e.Kind != "lab" || e.Message() != "said so" || string(u.Fields) != `{"a":1}` {
		t.Fatalf("decoded %#v", e)
	}
	back, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if string(back) != string(line) {
		t.Fatalf("re-marshalled\n %s\nwant\n %s", back, line)
	}
}

func TestDecodeRejectsAMistypedField(t *testing.T) {
	Register(ping{})
	if _, err := Decode([]byte(`{"seq":1,"type":"ping","kind":"lab","event":{"N":"seven"}}`)); err == nil {
		t.Fatal("a string where ping.N is an int decoded without error")
	}
}
