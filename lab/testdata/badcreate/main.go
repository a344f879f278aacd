// Command badcreate is a service that acknowledges every create (201) with
// a body that gives no todo id or title, as a broken release might: the lab
// cannot look such writes up, so its run is INVALID, not "0 lost".
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	addr := net.JoinHostPort(os.Getenv("LAB_ADDR"), os.Getenv("LAB_PORT"))
	err := http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/todos":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintln(w, "created")
		case r.URL.Path == "/api/todos":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"todos":[]}`)
		default:
			fmt.Fprintln(w, "ok")
		}
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
