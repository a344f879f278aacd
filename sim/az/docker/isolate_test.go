package docker

import (
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// An isolated container (network mode none) serves on its zone address in
// its own namespace, reached through the runtime's Dial and not on the
// host's network; a probe it runs cannot connect to a listener on the
// host's 127.0.0.1.
func TestIsolatedContainerReachesNothingOfTheHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the dial enters the container's namespace: root only")
	}
	r := newRuntime(t, func(o *Options) { o.Isolate = true })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
			accepted <- struct{}{}
		}
	}()
	s := spec(t, spinBin, "127.0.1.68", map[string]string{"PROBE": ln.Addr().String()})
	launch(t, r, s)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: r.Dial, DisableKeepAlives: true}}
	base := "http://" + net.JoinHostPort(s.Addr.String(), strconv.Itoa(s.Port))
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/probe")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the isolated container never answered through Dial: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if body != "refused" {
		t.Errorf("the container's probe of the host's %s says %q; want refused", ln.Addr(), body)
	}
	select {
	case <-accepted:
		t.Error("the host's 127.0.0.1 listener accepted a connection from an isolated container")
	default:
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(s.Addr.String(), strconv.Itoa(s.Port)), time.Second); err == nil {
		c.Close()
		t.Error("the isolated container answered on the host's network")
	}
	if name, iso := r.Isolated(); !iso || name != "" {
		t.Errorf("Isolated() = %q, %v; want \"\", true", name, iso)
	}
}
