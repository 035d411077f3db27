//go:build unix

package vm

import "syscall"

const errNotEmpty = syscall.ENOTEMPTY
