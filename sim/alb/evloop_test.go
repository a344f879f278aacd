package alb

import "os"

// eventLoopTests runs every test's load balancer (newHarness) with the
// event loop under its front (Config.EventLoop): ALB_FRONT=loop go test
// ./sim/alb/. The loop's own tests (evloop_linux_test.go) run either way.
var eventLoopTests = os.Getenv("ALB_FRONT") == "loop"
