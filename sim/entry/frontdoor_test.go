package entry

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// The stable URL's server closes a keep-alive connection left idle for its
// idle timeout (issue 19: it had none, so idle browser connections were
// kept for ever).
func TestFrontDoorClosesIdleConnections(t *testing.T) {
	const idle = 300 * time.Millisecond
	door, err := StartFrontDoor(FrontDoorConfig{Addr: "127.0.0.1:0", Target: "nowhere.elb.localhost:80", IdleTimeout: idle,
		Dialer: &Dialer{Resolver: NewResolver("127.0.0.1:1", nil), Name: "nowhere.elb.localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	defer door.Close()
	c, err := net.Dial("tcp", door.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	start := time.Now()
	c.SetReadDeadline(start.Add(20 * idle))
	_, err = br.ReadByte()
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the idle connection is still open after %s", 20*idle)
	}
	if took < idle*8/10 {
		t.Fatalf("closed after %s, before the idle timeout %s", took, idle)
	}
}
