package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Problem is an error a person reads, kept whole across processes: what
// failed, why, and what to do about it, with a kind that tells programs
// which sentinel it is. The runner saves its last one in run/ so that the
// CLI and the window show the whole reason, not "exit status 1"; the control
// socket carries one with every error it answers.
type Problem struct {
	Kind string    `json:"kind"`
	What string    `json:"what,omitempty"` // "starting demo"
	Why  string    `json:"why"`            // the whole reason; may span lines
	Do   string    `json:"do,omitempty"`   // what to do, when known
	Time time.Time `json:"time,omitzero"`
}

// Kinds of problems: one per sentinel error, and KindFailed for the rest.
const (
	KindFailed        = "failed"
	KindUnsupported   = "unsupported"
	KindNotFound      = "not-found"
	KindExists        = "exists"
	KindRunning       = "running"
	KindNotRunning    = "not-running"
	KindLocked        = "locked"
	KindInvalidName   = "invalid-name"
	KindInvalidConfig = "invalid-config"
	KindNoSpace       = "no-space"
	KindAccelerator   = "accelerator"
	KindNoDisplay     = "no-display"
)

var kinds = []struct {
	kind string
	err  error
}{
	// Most specific first: an accelerator failure is also unsupported.
	{KindAccelerator, ErrAccelerator},
	{KindNoDisplay, ErrNoDisplay},
	{KindNoSpace, ErrNoSpace},
	{KindInvalidConfig, ErrInvalidConfig},
	{KindInvalidName, ErrInvalidName},
	{KindNotFound, ErrNotFound},
	{KindExists, ErrExists},
	{KindRunning, ErrRunning},
	{KindNotRunning, ErrNotRunning},
	{KindLocked, ErrLocked},
	{KindUnsupported, ErrUnsupported},
}

// KindOf is the kind of err: its sentinel's, else KindFailed.
func KindOf(err error) string {
	var p *Problem
	if errors.As(err, &p) {
		return p.Kind
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return KindFailed
}

// ProblemOf turns err into a Problem: its kind, its text as the reason, and
// the hint it carries (WithHint) as what to do. A Problem stays itself.
func ProblemOf(what string, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		q := *p
		if q.What == "" {
			q.What = what
		}
		return &q
	}
	why := err.Error()
	hint := HintOf(err)
	if hint != "" {
		why = strings.TrimSuffix(why, "\n"+hint)
	}
	return &Problem{Kind: KindOf(err), What: what, Why: why, Do: hint}
}

// Error is the problem as one text: what, why, and on a line of its own what
// to do.
func (p *Problem) Error() string {
	s := p.Why
	if p.What != "" && !strings.HasPrefix(p.Why, p.What) {
		s = p.What + ": " + p.Why
	}
	if p.Do != "" {
		s += "\n" + p.Do
	}
	return s
}

// Unwrap is the sentinel of the problem's kind, so errors.Is holds across a
// process boundary.
func (p *Problem) Unwrap() error {
	for _, k := range kinds {
		if k.kind == p.Kind {
			return k.err
		}
	}
	return nil
}

// hinted is an error with what a person can do about it.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() + "\n" + h.hint }
func (h *hinted) Unwrap() error { return h.err }

// WithHint attaches what to do to err; the hint is printed on a line of its
// own after the error and kept apart in a Problem.
func WithHint(err error, hint string) error {
	if err == nil || hint == "" {
		return err
	}
	return &hinted{err: err, hint: hint}
}

// HintOf is the hint err carries, or "".
func HintOf(err error) string {
	var h *hinted
	if errors.As(err, &h) {
		return h.hint
	}
	var p *Problem
	if errors.As(err, &p) {
		return p.Do
	}
	return ""
}

// SaveLastError records why the VM's last run failed, in run/, for the CLI
// and the window to show.
func (b Bundle) SaveLastError(p *Problem) error {
	if p.Time.IsZero() {
		p.Time = time.Now()
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := b.EnsureRunDir(); err != nil {
		return err
	}
	return WriteFileAtomic(b.LastErrorPath(), append(data, '\n'), 0o600)
}

// LastError is the problem the VM's last run ended with; nil when it ended
// well or never ran.
func (b Bundle) LastError() (*Problem, error) {
	data, err := os.ReadFile(b.LastErrorPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p Problem
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", b.LastErrorPath(), err)
	}
	return &p, nil
}

// ClearLastError forgets the last run's problem, as a new run begins.
func (b Bundle) ClearLastError() error {
	if err := os.Remove(b.LastErrorPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
