package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vivarium-vm/vivarium/vm"
)

// TestConcurrentSetsFromTwoProcessesAllLand runs two 'vivarium set'
// processes of different keys side by side, 20 times: every change lands.
func TestConcurrentSetsFromTwoProcessesAllLand(t *testing.T) {
	v := &guestVM{t: t, bin: vivariumBinary(t), home: t.TempDir(), name: "demo"}
	v.must("create", "--disk", "64MiB", "--memory", "512MiB", "demo")
	v.b = vm.Bundle{Dir: filepath.Join(v.home, "demo"+vm.BundleExt)}
	const rounds = 20
	for i := 1; i <= rounds; i++ {
		var cmds []*exec.Cmd
		var outs []*bytes.Buffer
		for _, kv := range []string{fmt.Sprintf("cpus=%d", i), fmt.Sprintf("display.width=%d", 1000+i)} {
			cmd := exec.Command(v.bin, "set", "demo", kv)
			cmd.Env = append(cmd.Environ(), "VIVARIUM_HOME="+v.home)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmds, outs = append(cmds, cmd), append(outs, &out)
		}
		for _, cmd := range cmds {
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
		}
		for j, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Fatalf("round %d: vivarium %v: %v\n%s", i, cmd.Args[1:], err, outs[j])
			}
		}
		c, err := vm.LoadConfig(v.b.ConfigPath())
		if err != nil {
			t.Fatal(err)
		}
		if c.CPUs != i || c.Display.Width != 1000+i {
			t.Fatalf("round %d of %d: cpus = %d, display.width = %d; want %d and %d: a change was lost", i, rounds, c.CPUs, c.Display.Width, i, 1000+i)
		}
	}
}
