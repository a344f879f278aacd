// Package az models Availability Zones on one machine: the zones and their
// address plan (zone N owns the loopback subnet 127.0.N.0/24, as a VPC's
// private subnet), instance ids in AWS's shape, instance types mapped to a CPU
// share and a memory size, and the Runtime interface that runs instances.
//
// Runtimes live in sub-packages: process (local processes, the embedded
// default) and, later, docker. Nothing here sends traffic anywhere but loopback.
package az
