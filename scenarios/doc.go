// Package scenarios is the scenario model: which stack to run, the load
// profile (phases of request rate over AWS time, the request mix, and how
// its clients use the load balancer's addresses: load.client, next-address
// by default, as Go's dialer, browsers and curl, or one-address), the
// chaos timeline, the SLOs that decide the verdict, stop conditions, a seed
// and the clock's speed.
//
// Parse reads a scenario file (YAML) and validates it like a stack file:
// every problem at once, as FILE:LINE:COL: field.path: what is wrong; what is
// allowed. Built-in scenarios are embedded under builtin/.
package scenarios
