// Package az models Availability Zones on one machine: the zones and their
// address plan (zone N owns the loopback subnet 127.0.N.0/24, as a VPC's
// private subnet), instance ids in AWS's shape, instance types mapped to a CPU
// share and a memory size, and the Runtime interface that runs instances.
//
// It also holds what every runtime shares: the instance table (Table) that
// keeps a run's instances, their lock and their EC2 states, and the one set
// of legal state changes (Transition). A runtime supplies only a Driver:
// how it creates, boots, halts, removes and signals an instance.
//
// Runtimes live in sub-packages: process (local processes, the embedded
// default) and docker (containers); aztest holds the contract both pass.
// Nothing here sends traffic anywhere but loopback.
package az
