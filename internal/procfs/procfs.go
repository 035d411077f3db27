// Package procfs reads what tests and benchmarks need to know about
// processes from Linux's /proc: name, parent, state, children.
package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stat reads a process's name, parent and state from /proc/PID/stat; all
// zero when the process is gone.
func Stat(pid int) (comm string, ppid int, state string) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, ""
	}
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, ""
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 2 {
		return "", 0, ""
	}
	ppid, _ = strconv.Atoi(fields[1])
	return s[open+1 : end], ppid, fields[0]
}

// Alive reports whether pid is a process that has not exited (a zombie
// has exited).
func Alive(pid int) bool {
	_, _, state := Stat(pid)
	return state != "" && state != "Z"
}

// Children lists the live processes whose parent is pid and whose name
// starts with prefix.
func Children(pid int, prefix string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, ppid, state := Stat(child)
		if ppid == pid && strings.HasPrefix(comm, prefix) && state != "Z" {
			out = append(out, child)
		}
	}
	return out
}
