// Package agent is the lab agent and its client: the controller (`lab
// run`) runs a zone's instances on another host through an agent there
// (`lab agent`), which runs them with that host's runtime (processes or
// its Docker engine), reads their metrics and applies the instance-level
// faults (kill, pause, CPU hog, stop and start) and the host's network
// cut.
//
// # Protocol
//
// HTTP/1.1 and JSON over TLS, on every address (loopback too: one code
// path). The endpoints:
//
//	GET    /v1/info                                   Info
//	POST   /v1/runs                                   open a run {run, driver}: its subnet, lease, directory
//	DELETE /v1/runs/{run}                             end it: faults reverted, instances terminated
//	POST   /v1/runs/{run}/lease                       renew the lease (the dead-man switch)
//	POST   /v1/runs/{run}/instances                   Launch (an az.Spec)
//	GET    /v1/runs/{run}/instances                   List
//	POST   /v1/runs/{run}/instances/{id}/{op}         terminate, stop, start, kill, pause, resume, hog, unhog
//	GET    /v1/runs/{run}/instances/{id}/stats|cpu    Stats, CPUAccount
//	GET    /v1/runs/{run}/instances/{id}/output?lines=N  the end of its output: Output
//	GET    /v1/runs/{run}/exited?after=N              deaths numbered N and up (long poll): Exited
//	POST   /v1/runs/{run}/cut {seconds}               cut the host's network for that long at most
//	DELETE /v1/runs/{run}/cut                         restore it early
//	POST   /v1/runs/{run}/load                        start a share of the run's load (LoadShare) at its wall instant
//	GET    /v1/runs/{run}/load?wait=SECONDS           the share's state and, once done, its raw results (LoadState)
//	DELETE /v1/runs/{run}/load                        stop the share early (its partial results stay)
//
// An error answer is {code, message}; the code names the error value the
// client gives back, so that az.ErrNotFound and
// az.ErrIncorrectInstanceState stay themselves across the wire
// (errors.Is works on the controller's side).
//
// An agent holds one run at a time. Open with the open run's id is the
// controller reconnecting; another run is refused while the open one's
// controller renews its lease, and reaps it (its instances terminated)
// once it is silent for a lease.
//
// # Trust
//
// One shared secret, the token (32 random bytes, hex in a file readable
// by its owner only; `lab agent token` writes one), and no CA. The agent's
// TLS key is an Ed25519 key derived from the token (HKDF-SHA256, info
// "lab-agent-tls-v1"); its certificate is self-signed at start. The client
// derives the same public key from its own token and accepts the server
// only if its certificate's key is that one (the name is not checked; the
// key is pinned): a server with another token is refused in the handshake,
// before the client sends anything. Each request then carries
// "Authorization: Bearer hex(HMAC-SHA256(token, "lab-agent-auth-v1"))",
// compared in constant time; a wrong one gets 401 saying the token
// differs. The token itself never crosses the wire. Whoever holds the
// token can run programs on the agent's host as the agent's user: keep it
// as a key.
//
// # Dead-man switch
//
// Every fault the agent applies (pause, hog, cut) is registered with the
// run. The controller's Remote renews the lease every third of a lease;
// with no renewal for a lease (Config.Lease, default 15 s wall), the agent
// reverts them all itself and logs why; the instances keep running (EC2
// instances outlive their control plane). A cut ends at its own time,
// which the agent keeps (the controller cannot reach a cut host), and
// holds the lease while it lasts. Silent for 10 leases, the controller is
// gone: the run ends and its instances are terminated.
//
// # Membership
//
// Open may carry a JoinSpec: the controller's member of the agents'
// memberlist cluster (sim/entry.StartAgents), the run's gossip key and
// label, and the cluster's timing. The agent's Joiner (cmd/lab backs it
// with sim/entry.JoinAgents, bound on the agent's listen address at its
// API port + 1) joins then and leaves when the run ends, so that the
// controller's failure detector says when an agent's host is gone. This
// package does not import memberlist: only sim/entry does.
//
// # The zone's load-balancer node
//
// A run may open its zone's node on the agent (node.go): POST
// /v1/runs/{run}/node with the spec (sim/alb's Spec, the run's speed and
// its clock's start, as JSON this package does not read), then
// /node/targets (register), /node/deregister (answers once the target's
// draining is done on the node), GET /node/state (the view and counts the
// controller's mirror polls), /node/health and /node/metrics, POST
// /node/member (join the run's load-balancer cluster from this host),
// POST /node/weights (a blue/green shift's forward weights), POST
// /node/faults and DELETE /node/faults/{id} (request faults; the
// dead-man removes them), POST /node/stop and /node/start (an az-outage's
// node part; the dead-man starts a node the controller stopped), GET
// /node/accesslog (once the node is closed: every line), DELETE /node.
// The run's end closes it.
//
// # Out of this package
//
// The runtime (a RuntimeFactory: cmd/lab makes sim/az/process or
// sim/az/docker runtimes), the network cut (a NetCutter), the membership
// (a Joiner), the load-balancer node (a NodeFactory: lab.AgentNodeFactory,
// sim/alb for one zone): each is injected, so that this package imports no runtime
// and no third-party module.
package agent
