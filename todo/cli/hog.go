package cli

import (
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// Hog burns every CPU the process may use until it is signalled: chaos's
// cpu-hog runs it inside an instance (a container has no shell to loop in),
// so the CPU it burns counts against the instance's own limit.
func Hog() {
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for x := uint64(1); ; x = x*6364136223846793005 + 1442695040888963407 {
				_ = x
			}
		}()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
