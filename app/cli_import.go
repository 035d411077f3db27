package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/importer"
	"github.com/vivarium-vm/vivarium/vm/qemu"
)

// newImporter wires the importer to the library and qemu-img, found where
// the qemu backend finds QEMU (qemuPath: the preferences' QEMU, or "").
func newImporter(lib *vm.Library, qemuPath string) *importer.Importer {
	return &importer.Importer{Library: lib, Converter: qemu.ImageTool{QEMUPath: qemuPath}}
}

// importJSON is what `vivarium import --json` prints.
type importJSON struct {
	VM         *vm.Info              `json:"vm"`
	From       importer.Kind         `json:"from"`
	Source     string                `json:"source"`
	Disks      []importer.CopyMethod `json:"disks"`
	NotBrought []string              `json:"not_brought_over"`
	Notes      []string              `json:"notes"`
}

func importCommand(e *env) *cobra.Command {
	var backend string
	var keepMAC bool
	cmd := &cobra.Command{
		Use:   "import PATH [NAME]",
		Short: "Import a VM from UTM (.utm), Tart (VM folder), VirtualBuddy (.vbvm) or a disk image",
		Long: "Import a VM made by another tool, or a disk image (raw, qcow2, VMDK, VDI, VHD, VHDX, .ova),\n" +
			"as a new VM. The source is only read; disks are cloned where the filesystem can, else copied\n" +
			"keeping holes, else converted with qemu-img. What cannot be brought over is listed.\n" +
			"Examples:\n" +
			"  vivarium import ~/Library/Containers/com.utmapp.UTM/Data/Documents/Debian.utm\n" +
			"  vivarium import ~/.tart/vms/sequoia-base sequoia\n" +
			"  vivarium import ~/Downloads/ubuntu.qcow2 ubuntu",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			opts := importer.Options{Backend: backend, KeepMAC: keepMAC}
			if len(args) == 2 {
				opts.Name = args[1]
			}
			im := newImporter(lib, e.getenv(QEMUEnv))
			plan, err := im.Plan(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			var total int64
			for _, d := range plan.Config.Disks {
				total += int64(d.Size)
			}
			res, err := im.Make(cmd.Context(), plan, newProgressBar(cmd.ErrOrStderr(), total, "importing"))
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(cmd.OutOrStdout(), importJSON{VM: res.Info, From: plan.Kind, Source: plan.Source,
					Disks: res.Methods, NotBrought: orNone(plan.NotBrought), Notes: orNone(plan.Notes)})
			}
			printImport(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().StringVar(&backend, "backend", "", "vz or qemu (default: from the source and this host)")
	cmd.Flags().BoolVar(&keepMAC, "keep-mac", false, "keep the source's MAC address (then do not run both at once)")
	cmd.Flags().BoolVar(&e.json, "json", false, "print the result as JSON")
	return cmd
}

func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// printImport says what was made, how each disk came over, and what was
// not brought over.
func printImport(w io.Writer, res *importer.Result) {
	info, c, p := res.Info, res.Info.Config, res.Plan
	fmt.Fprintf(w, "Imported %q from %s: %s, %s, %d CPUs, %s memory, boot %s.\n", info.Name, p.Kind, c.OS, c.Backend, c.CPUs, c.Memory, c.Boot.Mode)
	for i, d := range info.Disks {
		how := ""
		if i < len(res.Methods) {
			how = string(res.Methods[i])
		}
		fmt.Fprintf(w, "  %s: %s (%s used), %s\n", d.File, d.Size.Human(), d.Allocated.Human(), how)
	}
	if len(p.NotBrought) > 0 {
		fmt.Fprintln(w, "Not brought over:")
		for _, nb := range p.NotBrought {
			fmt.Fprintf(w, "  - %s\n", nb)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	fmt.Fprintf(w, "Start it with: vivarium start %q\n", info.Name)
}

func exportCommand(e *env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export NAME DIR",
		Short: "Export a stopped VM for another tool (--format utm: a .utm bundle UTM opens)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != importer.FormatUTM {
				return fmt.Errorf("--format %q: Vivarium exports to %q only", format, importer.FormatUTM)
			}
			lib, err := e.library()
			if err != nil {
				return err
			}
			info, err := lib.Inspect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			dir, err := filepath.Abs(args[1])
			if err != nil {
				return err
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return fmt.Errorf("%s is not a folder; create it first or choose another", dir)
			}
			var total int64
			for _, d := range info.Disks {
				total += int64(d.Size)
			}
			res, err := importer.ExportUTM(cmd.Context(), info.Bundle(), dir, importer.ExportOptions{
				QCOW2: qemu.ImageTool{QEMUPath: e.getenv(QEMUEnv)}, Progress: newProgressBar(cmd.ErrOrStderr(), total, "exporting")})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Exported %s to %s.\n", info.Name, res.Path)
			if len(res.NotCarried) > 0 {
				fmt.Fprintf(out, "Not carried over:\n  - %s\n", strings.Join(res.NotCarried, "\n  - "))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", importer.FormatUTM, "the other tool's format: utm")
	return cmd
}

// importDisk returns a Create step that brings an existing disk image, of
// any format, in as the VM's first disk.
func importDisk(src, qemuPath string, progressTo io.Writer) func(context.Context, vm.Bundle, *vm.Config) error {
	return func(ctx context.Context, tmp vm.Bundle, c *vm.Config) error {
		dst := tmp.DiskPath(c.Disks[0].File)
		os.Remove(dst) // Create made an empty one
		_, size, err := newImporter(nil, qemuPath).ImportDisk(ctx, src, dst, newProgressBar(progressTo, int64(c.Disks[0].Size), "importing"))
		c.Disks[0].Size = vm.Size(size)
		return err
	}
}
