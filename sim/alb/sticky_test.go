package alb

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStickyCookieSealed(t *testing.T) {
	s, err := newSticky(Stickiness{Type: StickinessLBCookie, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b := binding{target: "i-0123456789abcdef0", until: time.Unix(1_700_000_000, 5)}
	v1, v2 := s.seal(b), s.seal(b)
	if v1 == v2 {
		t.Fatal("two cookies for one binding are alike: the value would identify the target")
	}
	if strings.Contains(v1, "i-0123") {
		t.Fatalf("the cookie %q shows the target", v1)
	}
	got, ok := s.open(v1)
	if !ok || got.target != b.target || !got.until.Equal(b.until) {
		t.Fatalf("open = %+v, %v", got, ok)
	}
	other, _ := newSticky(Stickiness{Type: StickinessLBCookie, Duration: time.Hour})
	if _, ok := other.open(v1); ok {
		t.Fatal("another run's key opened the cookie")
	}
	for _, bad := range []string{"", "x", v1[:len(v1)-2], strings.Repeat("A", 40)} {
		if _, ok := s.open(bad); ok {
			t.Fatalf("%q opened", bad)
		}
	}
}

func TestNewStickyRefuses(t *testing.T) {
	for _, c := range []Stickiness{{Type: "ip"}, {Type: StickinessLBCookie}, {Type: StickinessLBCookie, Duration: 8 * 24 * time.Hour},
		{Type: StickinessAppCookie, Duration: time.Hour}} {
		if _, err := newSticky(c); err == nil {
			t.Errorf("%+v was taken", c)
		}
	}
}

// Many users at once keep their targets (run with -race).
func TestStickyConcurrentUsers(t *testing.T) {
	h := stickyHarness(t, Stickiness{Type: StickinessLBCookie, Duration: time.Hour}, nil)
	n := h.lb.Nodes()[0]
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for u := 0; u < 8; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, cookie, _ := stickyGet(t, n, CookieAWSALB, "")
			for i := 0; i < 20; i++ {
				if got, _, _ := stickyGet(t, n, CookieAWSALB, cookie); got != first {
					errs <- got + " != " + first
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error("a user moved:", e)
	}
}
