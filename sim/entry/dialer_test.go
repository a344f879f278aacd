package entry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// These tests follow Go's net.Dialer (https://pkg.go.dev/net#Dialer and
// net/dial.go's dialSerial: "When using TCP, and the host resolves to
// multiple IP addresses, Dial will try each IP address in order until one
// succeeds"; the timeout "is spread over each consecutive dial"), as
// browsers and curl also go on to the next A record.

const dialName = "lab-0000000001.us-east-1.elb.localhost"

// stubDNS answers dialName with the addresses answer gives at the time,
// TTL 60 s; it returns the server's address.
func stubDNS(t *testing.T, answer func() []netip.Addr) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(dns.CanonicalName(dialName), func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, a := range answer() {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A: net.IP(a.AsSlice())})
		}
		w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// nodes are HTTP servers on 127.0.0.N:port, one port for all, answering
// 200 with their address; refused are addresses with nothing on that port.
func nodes(t *testing.T, live []netip.Addr) (port string) {
	t.Helper()
	for _, a := range live {
		ln, err := net.Listen("tcp", net.JoinHostPort(a.String(), cmpPort(port)))
		if err != nil {
			t.Skipf("cannot listen on %s: %v", a, err)
		}
		_, port, _ = net.SplitHostPort(ln.Addr().String())
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, a.String())
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
	return port
}

func cmpPort(p string) string {
	if p == "" {
		return "0"
	}
	return p
}

// silent is a listener on addr:port whose accept queue is full: Linux drops
// further SYNs, so a connect there times out, as into a blackholed subnet.
// It skips the test where that cannot be made.
func silent(t *testing.T, addr netip.Addr, port string) {
	t.Helper()
	p, _ := strconv.Atoi(port)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skipf("socket: %v", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: addr.As4(), Port: p}); err != nil {
		syscall.Close(fd)
		t.Skipf("bind %s:%d: %v", addr, p, err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		syscall.Close(fd)
		t.Skipf("listen: %v", err)
	}
	ln, err := net.FileListener(os.NewFile(uintptr(fd), "silent"))
	syscall.Close(fd)
	if err != nil {
		t.Skipf("listener: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	target := net.JoinHostPort(addr.String(), port)
	for range 4 { // fill the queue, then make sure a connect times out
		c, err := net.DialTimeout("tcp", target, 300*time.Millisecond)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
			t.Skipf("filling the accept queue of %s: %v", target, err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("connects to a full accept queue do not time out here")
}

// get sends one request over a new connection through d.
func get(t *testing.T, d *Dialer, port string) (string, error) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(dialName, port) + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

var (
	liveA = netip.MustParseAddr("127.0.0.21")
	dead  = netip.MustParseAddr("127.0.0.22")
	liveB = netip.MustParseAddr("127.0.0.23")
)

// TestClientsAndARefusedAddress: one of three addresses refuses. The
// default client (NextAddress) tries the next one and every request is
// served; OneAddress fails the requests that start there until the TTL ends
// and the answer, resolved again, no longer holds it.
func TestClientsAndARefusedAddress(t *testing.T) {
	port := nodes(t, []netip.Addr{liveA, liveB})
	var mu sync.Mutex
	answer := []netip.Addr{liveA, dead, liveB}
	server := stubDNS(t, func() []netip.Addr { mu.Lock(); defer mu.Unlock(); return answer })
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }

	for _, tc := range []struct {
		client  string
		refused int // of 6 requests within the TTL
	}{
		{"", 0},          // the default: NextAddress
		{NextAddress, 0}, // as Go's net.Dialer, browsers and curl
		{OneAddress, 2},  // round robin over three cached addresses, one dead
	} {
		t.Run(fmt.Sprintf("client %q", tc.client), func(t *testing.T) {
			mu.Lock()
			answer, now = []netip.Addr{liveA, dead, liveB}, now.Add(time.Hour)
			mu.Unlock()
			d := &Dialer{Resolver: NewResolver(server, clock), Name: dialName, Client: tc.client}
			refused := 0
			for range 6 {
				body, err := get(t, d, port)
				switch {
				case err != nil && errors.Is(err, syscall.ECONNREFUSED):
					refused++
				case err != nil:
					t.Fatalf("request: %v, want served or refused", err)
				case body != liveA.String() && body != liveB.String():
					t.Fatalf("served by %q", body)
				}
			}
			if refused != tc.refused {
				t.Fatalf("%d of 6 requests refused within the TTL, want %d", refused, tc.refused)
			}
			// DNS drops the dead address; the cache holds it until the TTL ends.
			mu.Lock()
			answer, now = []netip.Addr{liveA, liveB}, now.Add(59*time.Second)
			mu.Unlock()
			refused = 0
			for range 6 {
				if _, err := get(t, d, port); err != nil {
					refused++
				}
			}
			if refused != tc.refused {
				t.Fatalf("1 s before the TTL ends: %d of 6 refused, want %d", refused, tc.refused)
			}
			mu.Lock()
			now = now.Add(time.Second)
			mu.Unlock()
			for range 6 {
				if _, err := get(t, d, port); err != nil {
					t.Fatalf("after the TTL, resolved again without the dead address: %v", err)
				}
			}
		})
	}
}

// TestNextAddressAfterAConnectTimeout: an address that drops SYNs (a
// full accept queue) times out; the default client goes on to the next
// address within its Timeout, spread over the addresses as Go's net.Dialer
// does (an equal share each, at least 2 s while that much is left).
// OneAddress waits out its whole Timeout and fails.
func TestNextAddressAfterAConnectTimeout(t *testing.T) {
	port := nodes(t, []netip.Addr{liveA})
	silent(t, dead, port)
	server := stubDNS(t, func() []netip.Addr { return []netip.Addr{dead, liveA} })
	d := &Dialer{Resolver: NewResolver(server, nil), Name: dialName, Timeout: 4 * time.Second}
	start := time.Now()
	c, err := d.DialContext(context.Background(), "tcp", net.JoinHostPort(dialName, port)) // starts at dead
	took := time.Since(start)
	if err != nil {
		t.Fatalf("next-address: %v", err)
	}
	c.Close()
	if took < 2*time.Second-50*time.Millisecond || took > 3*time.Second {
		t.Fatalf("next-address got through after %s, want about 2 s: half of the 4 s timeout on the silent address", took)
	}

	one := &Dialer{Resolver: NewResolver(server, nil), Name: dialName, Client: OneAddress, Timeout: 500 * time.Millisecond}
	start = time.Now()
	_, err = one.DialContext(context.Background(), "tcp", net.JoinHostPort(dialName, port)) // starts at dead
	// A timeout either way Go reports one: the socket's deadline
	// (os.ErrDeadlineExceeded) or the dial context's (net's own timeout
	// error, also "i/o timeout"); which fires first is a race.
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) < 450*time.Millisecond {
		t.Fatalf("one-address on the silent address: %v after %s, want a timeout after 500ms", err, time.Since(start))
	}
}

func TestPartialDeadlineAsGosDialer(t *testing.T) {
	for _, tc := range []struct {
		remaining time.Duration
		left      int
		want      time.Duration
	}{
		{10 * time.Second, 1, 10 * time.Second}, // the last address gets what is left
		{10 * time.Second, 2, 5 * time.Second},  // an equal share
		{10 * time.Second, 3, 3333 * time.Millisecond},
		{3 * time.Second, 3, 2 * time.Second}, // at least 2 s (saneMinimum)
		{time.Second, 3, time.Second},         // but no more than is left
	} {
		ctx, cancel := context.WithTimeout(context.Background(), tc.remaining)
		got := time.Until(partialDeadline(ctx, tc.left))
		cancel()
		if d := got - tc.want; d > 50*time.Millisecond || d < -50*time.Millisecond {
			t.Errorf("%s left over %d addresses: %s, want %s", tc.remaining, tc.left, got, tc.want)
		}
	}
}
