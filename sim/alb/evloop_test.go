package alb

import "os"

// eventLoopTests runs every test's load balancer (newHarness) with the
// event-loop front (Config.EventLoop): ALB_EVENT_LOOP=1 go test ./sim/alb/.
var eventLoopTests = os.Getenv("ALB_EVENT_LOOP") == "1"
