package vm

import "context"

// State is what a VM is doing. It is derived from the lock, the runner's
// answer and the files, never stored.
type State string

const (
	StateStopped   State = "stopped"
	StateStarting  State = "starting"
	StateRunning   State = "running"
	StatePaused    State = "paused"
	StateStopping  State = "stopping"
	StateSuspended State = "suspended"
	StateBroken    State = "broken"
)

// Active reports whether a runner holds the VM.
func (s State) Active() bool {
	switch s {
	case StateStarting, StateRunning, StatePaused, StateStopping:
		return true
	}
	return false
}

// StatusAsker asks a VM's runner what state the VM is in, through its
// control socket.
type StatusAsker interface {
	AskState(ctx context.Context, b Bundle) (State, error)
}
