//go:build unix && !linux

package qemu

import "syscall"

// sysProcAttr puts QEMU in its own process group, so a Ctrl-C at the
// runner's terminal is the runner's to handle. These systems have no
// parent-death signal: a runner killed with -9 leaves QEMU running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
