package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestTokenFile(t *testing.T) {
	dir := t.TempDir()
	tok := token(t)
	path := filepath.Join(dir, "token")
	if err := WriteToken(path, tok); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %04o, want 0600", fi.Mode().Perm())
	}
	got, err := ReadToken(path)
	if err != nil || !bytes.Equal(got, tok) {
		t.Fatalf("ReadToken = %x, %v; want %x", got, err, tok)
	}
	if err := WriteToken(path, tok); err == nil {
		t.Error("WriteToken overwrote an existing file")
	}

	for _, c := range []struct {
		name, body string
		mode       os.FileMode
		want       string
	}{
		{"open", "ab", 0o644, "lets others read it"},
		{"empty", "\n", 0o600, "the file is empty"},
		{"short", "abcd\n", 0o600, "4 characters; allowed: 64 hexadecimal digits"},
		{"nothex", "zz" + string(bytes.Repeat([]byte("0"), 62)), 0o600, `'z' is not a hexadecimal digit`},
	} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, []byte(c.body), c.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, c.mode)
		_, err := ReadToken(p)
		if err == nil || !contains(err.Error(), p) || !contains(err.Error(), c.want) {
			t.Errorf("ReadToken(%s) = %v; want an error naming the file and %q", c.name, err, c.want)
		}
	}
}

func TestTokenDerivesOneKey(t *testing.T) {
	a, b := token(t), token(t)
	ka, _ := tokenKey(a)
	ka2, _ := tokenKey(bytes.Clone(a))
	kb, _ := tokenKey(b)
	if !ka.Equal(ka2) {
		t.Error("one token derived two keys")
	}
	if ka.Equal(kb) {
		t.Error("two tokens derived one key")
	}
	if bearer(a) == bearer(b) || bearer(a) != bearer(bytes.Clone(a)) {
		t.Error("the bearer credential is not the token's own")
	}
	if contains(bearer(a), string(a)) {
		t.Error("the credential carries the token")
	}
}

func TestDialWithTheRightToken(t *testing.T) {
	tok := token(t)
	_, addr := serve(t, Config{Token: tok, Subnet: mustPrefix("169.254.1.0/24"), Drivers: []string{"process", "docker"}})
	c, err := Dial(context.Background(), addr, bytes.Clone(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := c.Info()
	if in.Subnet != mustPrefix("169.254.1.0/24") || len(in.Drivers) != 2 || in.Version == "" || in.Run != "" {
		t.Errorf("Info = %+v", in)
	}
}

func TestDialWithAnotherTokenIsRefusedOnBothSides(t *testing.T) {
	var log logBuf
	_, addr := serve(t, Config{Token: token(t), Logger: log.logger()})
	_, err := Dial(context.Background(), addr, token(t))
	if !errors.Is(err, ErrWrongToken) || !contains(err.Error(), addr) || !contains(err.Error(), "different token") {
		t.Fatalf("Dial with another token: %v; want ErrWrongToken naming the agent", err)
	}
	eventually(t, 5*time.Second, "the agent logs the refused handshake; log:\n"+log.String(), func() bool {
		return contains(log.String(), "a client refused this agent's certificate: its token differs")
	})
}

// A server holding another token's certificate gets nothing from the
// client: the handshake fails before any request byte is sent.
func TestClientRefusesAnotherTokensServerBeforeItsCredential(t *testing.T) {
	other, err := serverTLS(token(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer conn.Close()
		tc := tls.Server(conn, other)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		tc.Handshake() // the client's refusal may show only on the first read (TLS 1.3)
		b, _ := io.ReadAll(tc)
		got <- b
	}()
	_, err = Dial(context.Background(), ln.Addr().String(), token(t))
	if !errors.Is(err, ErrWrongToken) {
		t.Fatalf("Dial to another token's server: %v; want ErrWrongToken", err)
	}
	if b := <-got; len(b) != 0 {
		t.Fatalf("the client sent %d bytes to a server it should have refused: %q", len(b), b)
	}
}

// A client that skips the pin still gets nothing without the credential.
func TestAWrongCredentialIsRefused(t *testing.T) {
	tok := token(t)
	var log logBuf
	_, addr := serve(t, Config{Token: tok, Logger: log.logger()})
	c, err := Dial(context.Background(), addr, tok)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.auth = "Bearer " + bearer(token(t))
	var in Info
	err = c.do(context.Background(), http.MethodGet, "/v1/info", nil, &in)
	if !errors.Is(err, ErrWrongToken) || !contains(err.Error(), "token differs") {
		t.Fatalf("a request with another token's credential: %v; want ErrWrongToken", err)
	}
	if !contains(log.String(), "its credential is not this agent's token's") {
		t.Errorf("the agent did not log the refusal; log:\n%s", log.String())
	}
}

func TestDialSaysWhatIsWrong(t *testing.T) {
	// Nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	if _, err := Dial(context.Background(), free, token(t)); !errors.Is(err, ErrUnreachable) {
		t.Errorf("Dial to a closed port: %v; want ErrUnreachable", err)
	}
	// Plain HTTP answers.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hello") })}
	go hs.Serve(ln)
	defer hs.Close()
	if _, err := Dial(context.Background(), ln.Addr().String(), token(t)); !errors.Is(err, ErrNotAgent) {
		t.Errorf("Dial to a plain HTTP server: %v; want ErrNotAgent", err)
	}
	if _, err := Dial(context.Background(), "no-port", token(t)); err == nil || !contains(err.Error(), "host:port") {
		t.Errorf("Dial to an address without a port: %v", err)
	}
}
