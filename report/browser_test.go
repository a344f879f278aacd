package report

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const chromium = "/usr/bin/chromium"

// TestReportInHeadlessChromium loads report.html in headless Chromium and
// takes a screenshot: it must load without a console error and without a
// single network request (Chromium's net log lists every URL it fetched).
func TestReportInHeadlessChromium(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s not found (apt-get install -y chromium): not loading the report in a browser", chromium)
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, ReportFile)
	var b bytes.Buffer
	if err := Render(&b, Build(readFixture(t))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join("testdata", "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	shot, _ := filepath.Abs(filepath.Join(out, "report.png"))
	os.Remove(shot)
	netlog := filepath.Join(dir, "netlog.json")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--log-net-log="+netlog,
		"--host-resolver-rules=MAP * ~NOTFOUND", // nothing leaves the machine, whatever asks
		"--screenshot="+shot, "--window-size=1280,2400", "file://"+page)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, stderr.String())
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("chromium did not finish in 90 s\n%s", stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Uncaught") || strings.Contains(line, "net::ERR_") {
			t.Errorf("browser console: %s", line)
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, stderr.String())
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if r := img.Bounds(); r.Dx() < 1000 || r.Dy() < 2000 {
		t.Errorf("screenshot is %v", r)
	}
	t.Logf("screenshot: %s", shot)
	if urls := fetchedURLs(t, netlog); len(urls) > 0 {
		t.Errorf("the page made network requests: %v", urls)
	}
}

// browserOwn are hosts Chromium itself calls (time, accounts, component
// updates) even with background networking off; the page has no say in them.
var browserOwn = []string{".google.com/", ".googleapis.com/", ".gvt1.com/", ".gstatic.com/"}

func pageURL(u string) bool {
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return false
	}
	for _, h := range browserOwn {
		if strings.Contains(u, h) {
			return false
		}
	}
	return true
}

// fetchedURLs lists the http(s) URLs in Chromium's net log, but for the
// browser's own.
func fetchedURLs(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Logf("no net log (%v): network requests not checked", err)
		return nil
	}
	var log struct {
		Events []struct {
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		// Chromium may leave the log unterminated when it exits; fall back
		// to a text search.
		var urls []string
		for _, part := range strings.Split(string(b), `"url":"`)[1:] {
			if u, _, ok := strings.Cut(part, `"`); ok && pageURL(u) {
				urls = append(urls, u)
			}
		}
		return urls
	}
	var urls []string
	for _, e := range log.Events {
		if u, ok := e.Params["url"].(string); ok && pageURL(u) {
			urls = append(urls, u)
		}
	}
	return urls
}
