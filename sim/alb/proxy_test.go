package alb

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The fast path keeps the reverse proxy's behaviour: request bodies and
// the client's Host reach the target, hop-by-hop headers do not, trailers
// and streamed bodies come back, and an Upgrade switches protocols.
func TestProxyPassesBodiesTrailersStreamsAndUpgrades(t *testing.T) {
	h := newHarness(t, nil)
	release := make(chan struct{})
	a := backend(t, "a", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Host", r.Host)
			w.Header().Set("X-Hop", r.Header.Get("X-Hop")+"|"+r.Header.Get("Keep-Alive"))
			w.Header().Set("Connection", "X-Secret")
			w.Header().Set("X-Secret", "hop")
			w.Write(b)
		case "/trailer":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body")
			w.Header().Set("X-Sum", "42")
		case "/stream":
			io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
			<-release
			io.WriteString(w, "second\n")
		case "/ws":
			if r.Header.Get("Upgrade") != "lab-echo" {
				w.WriteHeader(400)
				return
			}
			c, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: lab-echo\r\n\r\n")
			line, _ := brw.ReadString('\n')
			io.WriteString(c, "echo "+line)
		}
	})
	h.register("i-a", "us-east-1a", a)
	h.waitState("i-a", StateHealthy)
	url := h.lb.Nodes()[0].URL()

	req, _ := http.NewRequest("POST", url+"/echo", strings.NewReader("payload"))
	req.Host = "shop.example"
	req.Header.Set("Connection", "X-Hop")
	req.Header.Set("X-Hop", "dropped")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "payload" || resp.Header.Get("X-Host") != "shop.example" || resp.Header.Get("X-Hop") != "|" || resp.Header.Get("X-Secret") != "" {
		t.Fatalf("echo: %q host %q hop %q secret %q", body, resp.Header.Get("X-Host"), resp.Header.Get("X-Hop"), resp.Header.Get("X-Secret"))
	}

	resp, err = http.Get(url + "/trailer")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "body" || resp.Trailer.Get("X-Sum") != "42" {
		t.Fatalf("trailer: %q %v", body, resp.Trailer)
	}

	resp, err = http.Get(url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	first := make(chan string, 1)
	go func() { l, _ := br.ReadString('\n'); first <- l }()
	select {
	case l := <-first:
		if l != "first\n" {
			t.Fatalf("stream: %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the streamed part did not arrive before the body ended")
	}
	close(release)
	if l, _ := br.ReadString('\n'); l != "second\n" {
		t.Fatalf("stream end: %q", l)
	}
	resp.Body.Close()

	c, err := net.Dial("tcp", h.lb.Nodes()[0].addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: lb\r\nConnection: Upgrade\r\nUpgrade: lab-echo\r\n\r\n")
	cbr := bufio.NewReader(c)
	up, err := http.ReadResponse(cbr, nil)
	if err != nil || up.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", up, err)
	}
	io.WriteString(c, "hello\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, _ := cbr.ReadString('\n'); l != "echo hello\n" {
		t.Fatalf("upgraded connection: %q", l)
	}
}
