package alb

import "os"

// goroutineFrontTests runs every test's load balancer (newHarness) with
// the goroutine front alone (Config.GoroutineFront): ALB_FRONT=goroutine
// go test ./sim/alb/. By default they run with the event loop under the
// front, as the lab does. The loop's own tests (evloop_linux_test.go)
// compare the two either way.
var goroutineFrontTests = os.Getenv("ALB_FRONT") == "goroutine"
