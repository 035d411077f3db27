//go:build darwin

package vz

import (
	"context"
	"fmt"
	"io"

	"github.com/Code-Hex/vz/v3"

	"github.com/vivarium-vm/vivarium/vm"
)

// Start plans the run, builds and validates the vz configuration, and
// boots the VM, or resumes it from spec.Restore. It returns once the VM
// runs. The notes of the plan go to spec.Log.
func (b *Backend) Start(ctx context.Context, spec *vm.RunSpec) (vm.Instance, error) {
	plan, err := Plan(spec, b.host)
	if err != nil {
		return nil, err
	}
	logf(spec.Log, "vz: %d CPUs, %s, %d devices", plan.CPUs, vm.Size(plan.Memory).Human(), len(plan.Devices))
	for _, n := range plan.Notes {
		logf(spec.Log, "vz: %s", n)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := build(plan, spec.Console)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Config.Name, err)
	}
	machine, err := vz.NewVirtualMachine(m.config)
	if err != nil {
		m.close()
		return nil, fmt.Errorf("%s: making the VM: %w", spec.Config.Name, framework(err))
	}
	inst := newInstance(machine, m, plan, spec, b.host)
	if plan.Restore != "" {
		err = inst.restore(ctx, plan.Restore)
	} else {
		err = inst.boot(ctx, startOptions(plan))
	}
	if err != nil {
		inst.abandon()
		return nil, fmt.Errorf("%s: %w", spec.Config.Name, err)
	}
	return inst, nil
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
