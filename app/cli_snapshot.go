package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/control"
	"github.com/vivarium-vm/vivarium/vm/snapshot"
)

// snapshotCommands are the verbs of named snapshots.
func snapshotCommands(e *env) []*cobra.Command {
	return []*cobra.Command{snapshotCommand(e), snapshotsCommand(e), restoreCommand(e)}
}

func snapshotCommand(e *env) *cobra.Command {
	var live bool
	cmd := &cobra.Command{
		Use:   "snapshot NAME [SNAPSHOT]",
		Short: "Take a named snapshot of a VM (--live: of a running VM, with its memory)",
		Long: "Take a named snapshot of a VM: its disks, stores and config as they are now,\n" +
			"copy-on-write where the filesystem can. A stopped VM is snapshotted as it is (with\n" +
			"its memory when it is suspended); a running one needs --live: it is paused, its\n" +
			"memory saved, its disks copied, and it runs on. The name defaults to the time.\n" +
			"'vivarium snapshot delete NAME SNAPSHOT' deletes one.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := e.snapshots()
			if err != nil {
				return err
			}
			name := snapshot.DefaultName(time.Now())
			if len(args) == 2 {
				name = args[1]
			}
			info, err := m.Take(cmd.Context(), args[0], name, live)
			if err != nil {
				return err
			}
			memory := ""
			if info.Memory {
				memory = ", with memory"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Took snapshot %q of %s%s.\n", info.Name, args[0], memory)
			return nil
		},
	}
	cmd.Flags().BoolVar(&live, "live", false, "snapshot a running VM with its memory; a restore resumes it there")
	cmd.AddCommand(&cobra.Command{
		Use:   "delete NAME SNAPSHOT",
		Short: "Delete a snapshot and free its space",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := e.snapshots()
			if err != nil {
				return err
			}
			if err := m.Delete(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted snapshot %q of %s.\n", args[1], args[0])
			return nil
		},
	})
	return cmd
}

// snapshots is the snapshot manager of e's library, reaching running VMs
// through their control sockets.
func (e *env) snapshots() (*snapshot.Manager, error) {
	lib, err := e.library()
	if err != nil {
		return nil, err
	}
	return &snapshot.Manager{Library: lib, Runner: controlRunner{}}, nil
}

// controlRunner asks a running VM's runner, through its control socket.
type controlRunner struct{}

func (controlRunner) Snapshot(ctx context.Context, b vm.Bundle, name string) error {
	_, err := control.NewClient(b.ControlSocketPath()).Do(ctx, control.Request{Op: control.OpSnapshot, Name: name})
	return err
}

func (controlRunner) Keep(ctx context.Context, b vm.Bundle, newName string) error {
	_, err := control.NewClient(b.ControlSocketPath()).Do(ctx, control.Request{Op: control.OpKeep, Name: newName})
	return err
}

func snapshotsCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshots NAME",
		Short: "List a VM's snapshots; a damaged one says why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := e.snapshots()
			if err != nil {
				return err
			}
			infos, err := m.List(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if e.json {
				if infos == nil {
					infos = []*snapshot.Info{}
				}
				return printJSON(cmd.OutOrStdout(), infos)
			}
			printSnapshots(cmd.OutOrStdout(), args[0], infos)
			return nil
		},
	}
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}

func printSnapshots(w io.Writer, vmName string, infos []*snapshot.Info) {
	if len(infos) == 0 {
		fmt.Fprintf(w, "%s has no snapshots; take one with 'vivarium snapshot %s'.\n", vmName, vmName)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTAKEN\tMEMORY\tSPACE\tSTATUS")
	for _, i := range infos {
		memory, status := "-", "ok"
		if i.Memory {
			memory = "yes"
		}
		if i.Broken() {
			status = "broken: " + i.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.Name, i.Created.Local().Format("2006-01-02 15:04:05"), memory, i.Allocated.Human(), status)
	}
	tw.Flush()
}

func restoreCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "restore NAME SNAPSHOT",
		Short: "Turn a stopped VM back into a snapshot (what changed since is lost)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := e.snapshots()
			if err != nil {
				return err
			}
			info, err := m.Restore(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			next := "its next start boots it"
			if info.Memory {
				next = "its next start resumes it where the snapshot was taken"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Restored %s to snapshot %q; %s.\n", args[0], info.Name, next)
			return nil
		},
	}
}
