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
			lib, err := e.library()
			if err != nil {
				return err
			}
			name := snapshot.DefaultName(time.Now())
			if len(args) == 2 {
				name = args[1]
			}
			info, err := takeSnapshot(cmd.Context(), lib, args[0], name, live)
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
			lib, err := e.library()
			if err != nil {
				return err
			}
			b, err := existingBundle(cmd.Context(), lib, args[0])
			if err != nil {
				return err
			}
			if err := snapshot.Delete(b, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted snapshot %q of %s.\n", args[1], args[0])
			return nil
		},
	})
	return cmd
}

// takeSnapshot takes a stopped VM's snapshot here, or asks a running VM's
// runner for a live one.
func takeSnapshot(ctx context.Context, lib *vm.Library, vmName, name string, live bool) (*snapshot.Info, error) {
	b, err := existingBundle(ctx, lib, vmName)
	if err != nil {
		return nil, err
	}
	if err := snapshot.ValidateName(name); err != nil {
		return nil, err
	}
	if b.Locked() {
		if !live {
			return nil, fmt.Errorf("%s is running: %w; take a live snapshot with --live (it keeps the memory too), or stop it first", vmName, vm.ErrRunning)
		}
		if _, err := sendControl(ctx, lib, vmName, control.Request{Op: control.OpSnapshot, Name: name}); err != nil {
			return nil, err
		}
		return snapshot.Inspect(b, name)
	}
	res, err := snapshot.Take(ctx, b, name, snapshot.Options{})
	if err != nil {
		return nil, err
	}
	return res.Info, nil
}

func existingBundle(ctx context.Context, lib *vm.Library, name string) (vm.Bundle, error) {
	info, err := lib.Inspect(ctx, name)
	if err != nil {
		return vm.Bundle{}, err
	}
	return info.Bundle(), nil
}

func snapshotsCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshots NAME",
		Short: "List a VM's snapshots; a damaged one says why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			b, err := existingBundle(cmd.Context(), lib, args[0])
			if err != nil {
				return err
			}
			infos, err := snapshot.List(b)
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
			lib, err := e.library()
			if err != nil {
				return err
			}
			b, err := existingBundle(cmd.Context(), lib, args[0])
			if err != nil {
				return err
			}
			info, err := snapshot.Restore(cmd.Context(), b, args[1])
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

// keepSession asks a disposable run's runner to keep it as a new VM.
func keepSession(ctx context.Context, lib *vm.Library, name, newName string) error {
	if err := vm.ValidateName(newName); err != nil {
		return err
	}
	_, err := sendControl(ctx, lib, name, control.Request{Op: control.OpKeep, Name: newName})
	return err
}
