package agent

import (
	"encoding/json"
	"errors"
	"net/netip"

	"github.com/simplydone/lab/sim/az"
)

// The wire: HTTP/1.1 and JSON over TLS. Every request carries the bearer
// credential; every error answer is an errorBody whose code says which
// error it is, so that the client gives back the same error value
// (az.ErrNotFound stays az.ErrNotFound across the wire).

// Info is what an agent says of itself (GET /v1/info).
type Info struct {
	Host    string       `json:"host"`
	Subnet  netip.Prefix `json:"subnet"`
	Drivers []string     `json:"drivers"`
	Version string       `json:"version"`
	Run     string       `json:"run"` // the open run, or ""
}

// Error codes of errorBody.
const (
	codeNotFound       = "InstanceNotFound"       // az.ErrNotFound
	codeIncorrectState = "IncorrectInstanceState" // az.ErrIncorrectInstanceState
	codeTokenMismatch  = "TokenMismatch"          // ErrWrongToken
	codeRunNotOpen     = "RunNotOpen"             // ErrRunNotOpen
	codeBusy           = "AgentBusy"              // ErrBusy
	codeRefused        = "Refused"                // a request the agent cannot do (bad input, no cutter)
	codeFailed         = "Failed"                 // the runtime failed
)

// Errors a client can tell apart with errors.Is.
var (
	// ErrWrongToken: the agent and the client hold different tokens.
	ErrWrongToken = errors.New("the agent's token differs")
	// ErrNotAgent: something answers at the address, not a lab agent.
	ErrNotAgent = errors.New("not a lab agent")
	// ErrUnreachable: nothing answers at the address.
	ErrUnreachable = errors.New("agent unreachable")
	// ErrRunNotOpen: the run is not (or no longer) open on the agent.
	ErrRunNotOpen = errors.New("run not open on the agent")
	// ErrBusy: the agent has another live run open.
	ErrBusy = errors.New("agent busy with another run")
	// ErrClosed: the Remote was closed.
	ErrClosed = errors.New("remote runtime closed")
)

// sentinel is the error value a code stands for (nil for none).
func sentinel(code string) error {
	switch code {
	case codeNotFound:
		return az.ErrNotFound
	case codeIncorrectState:
		return az.ErrIncorrectInstanceState
	case codeTokenMismatch:
		return ErrWrongToken
	case codeRunNotOpen:
		return ErrRunNotOpen
	case codeBusy:
		return ErrBusy
	}
	return nil
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// remoteError is an agent's error as the client returns it: the agent's
// message, and errors.Is true for the sentinel its code names.
type remoteError struct {
	msg string
	is  error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.is }

type openRequest struct {
	Run    string    `json:"run"`
	Driver string    `json:"driver"`
	Join   *JoinSpec `json:"join,omitempty"`
}

// JoinSpec is what an agent needs to join the controller's agents'
// cluster (sim/entry's StartAgents/JoinAgents): the controller gives it in
// Open, over TLS, and the agent joins then and leaves when the run ends.
type JoinSpec struct {
	Name       string `json:"name"`       // the agent's member name (its zone's)
	Controller string `json:"controller"` // the controller's member, ip:port
	Key        []byte `json:"key"`        // the run's gossip key
	Label      string `json:"label"`      // and label
	// Timing is the cluster's failure-detector durations as the
	// controller's side encodes them (sim/entry.Durations in JSON); this
	// package passes it through.
	Timing json.RawMessage `json:"timing,omitempty"`
}

type openResponse struct {
	Run     string       `json:"run"`
	Subnet  netip.Prefix `json:"subnet"`
	LeaseMS int64        `json:"lease_ms"`
	Dir     string       `json:"dir"` // the run's directory on the agent's host
}

type leaseResponse struct {
	// Reverted lists the faults the dead-man switch reverted since the
	// previous renewal (the controller was silent for a lease).
	Reverted []string `json:"reverted,omitempty"`
}

type hogResponse struct {
	Hog int64 `json:"hog"`
}

type unhogRequest struct {
	Hog int64 `json:"hog"`
}

type outputResponse struct {
	Output string `json:"output"` // the end of the instance's output, up to outputTail bytes
}

type exitedResponse struct {
	Next int64           `json:"next"` // ask with after=Next for what follows
	IDs  []az.InstanceID `json:"ids"`
}

type cutRequest struct {
	Seconds float64 `json:"seconds"`
}
