package qemu

import "syscall"

// sysProcAttr puts QEMU in its own process group, so a Ctrl-C at the
// runner's terminal is the runner's to handle, and has the kernel kill QEMU
// when the thread that started it dies: a runner killed with -9 takes its
// VM along, and no VM runs unsupervised.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
