package vm

import "errors"

// Sentinel errors. Callers test with errors.Is; the wrapped text around them
// names what failed and what to do.
var (
	// ErrUnsupported means a backend or host cannot do what was asked.
	ErrUnsupported = errors.New("not supported on this host")
	// ErrNotFound means no VM of that name exists in the library.
	ErrNotFound = errors.New("no such VM")
	// ErrExists means a VM of that name already exists.
	ErrExists = errors.New("a VM with that name already exists")
	// ErrRunning means the operation needs the VM stopped.
	ErrRunning = errors.New("the VM is running")
	// ErrNotRunning means the operation needs a running VM.
	ErrNotRunning = errors.New("the VM is not running")
	// ErrLocked means another process holds the VM's lock.
	ErrLocked = errors.New("the VM is in use by another process")
	// ErrInvalidName means a VM name was rejected.
	ErrInvalidName = errors.New("invalid VM name")
	// ErrInvalidConfig is wrapped by every config validation failure.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrConfigChanged means config.toml changed since it was read for an
	// edit (another window, the command line, a text editor).
	ErrConfigChanged = errors.New("the settings changed since they were opened")
	// ErrNoSpace means the disk holding the library is full.
	ErrNoSpace = errors.New("not enough disk space")
	// ErrAccelerator means the hardware accelerator (KVM, HVF) could not
	// run the guest.
	ErrAccelerator = errors.New("the accelerator cannot run this guest")
	// ErrNoDisplay means a window was asked for where there is no display.
	ErrNoDisplay = errors.New("no display to open a window on")
)
