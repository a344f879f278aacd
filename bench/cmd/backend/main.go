// Command backend is the trivial HTTP target of bench/alb.sh: every request
// gets 200 and a body of about 100 bytes.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address (loopback)")
	flag.Parse()
	body := []byte(strings.Repeat("x", 99) + "\n")
	size := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd["Content-Type"] = []string{"text/plain"}
		hd["Content-Length"] = []string{size}
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
