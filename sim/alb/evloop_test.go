package alb

import "os"

// goroutineFrontTests runs every test's load balancer (newHarness) with
// the goroutine front alone (Config.GoroutineFront), as before the event
// loop: ALB_FRONT=goroutine go test ./sim/alb/.
var goroutineFrontTests = os.Getenv("ALB_FRONT") == "goroutine"
