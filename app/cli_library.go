package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vivarium-vm/vivarium/vm"
	"github.com/vivarium-vm/vivarium/vm/snapshot"
)

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func listCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the VMs and their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			infos, err := lib.List(cmd.Context())
			if err != nil {
				return err
			}
			if e.json {
				if infos == nil {
					infos = []*vm.Info{}
				}
				return printJSON(cmd.OutOrStdout(), infos)
			}
			if len(infos) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "No VMs in %s yet. Make one with: vivarium create NAME\n", lib.Root)
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tOS\tCPUS\tMEMORY\tDISK (USED/SIZE)\t")
			for _, i := range infos {
				if i.Config == nil {
					fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t%s\t\n", i.Name, i.State, i.Error)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", i.Name, i.State, i.Config.OS, i.Config.CPUs, i.Config.Memory, diskSummary(i.Disks))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}

func diskSummary(ds []vm.DiskUsage) string {
	if len(ds) == 0 {
		return "none"
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Allocated.Human() + "/" + d.Size.Human()
	}
	return strings.Join(parts, ", ")
}

// createFlags are the settings of a new VM that can be given on the command
// line; anything else can be changed later with 'vivarium set'.
type createFlags struct {
	os, backend, arch, memory, disk string
	cpus                            int
	kernel, initrd, cmdline, iso    string
	importDisk, ipsw                string
	shares                          []string
	clipboard, disposable, rosetta  bool
	serial                          bool
	network                         string
	qemuPath                        string // the preferences' QEMU, for qemu-img
}

func createCommand(e *env) *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a VM",
		Long: "Create a VM. Examples:\n" +
			"  vivarium create --os linux --cpus 2 --memory 2GiB --disk 64GiB demo\n" +
			"  vivarium create --iso ~/Downloads/debian.iso debian\n" +
			"  vivarium create --kernel vmlinux --initrd initrd.img --cmdline console=ttyS0 server\n" +
			"  vivarium create --os macos --ipsw latest sequoia",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			f.qemuPath = e.getenv(QEMUEnv)
			c, err := f.config(args[0])
			if err != nil {
				return err
			}
			if c.OS == vm.OSMacOS {
				return createMacOS(cmd, e, lib, c, f.ipsw)
			}
			opts := vm.CreateOptions{}
			if f.importDisk != "" {
				opts.Prepare = importDisk(f.importDisk, f.qemuPath, cmd.ErrOrStderr())
			}
			info, err := lib.Create(cmd.Context(), c, opts)
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(cmd.OutOrStdout(), info)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created %s (%s, %d CPUs, %s memory, %s) in %s\nStart it with: vivarium start %q\n",
				info.Name, c.OS, c.CPUs, c.Memory, diskSummary(info.Disks), info.Dir, info.Name)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.os, "os", "linux", "guest OS: linux, macos or other")
	fl.StringVar(&f.backend, "backend", "", "vz or qemu (default: vz on macOS, qemu elsewhere)")
	fl.StringVar(&f.arch, "arch", "", "arm64 or x86_64 (default: this host's)")
	fl.IntVar(&f.cpus, "cpus", vm.DefaultCPUs, "virtual CPUs")
	fl.StringVar(&f.memory, "memory", vm.DefaultMem.String(), "memory, e.g. 4GiB")
	fl.StringVar(&f.disk, "disk", vm.DefaultDisk.String(), "size of the main disk (sparse: it takes space only as it fills); 0 for none")
	fl.StringVar(&f.kernel, "kernel", "", "boot this Linux kernel directly")
	fl.StringVar(&f.initrd, "initrd", "", "initial ramdisk for --kernel")
	fl.StringVar(&f.cmdline, "cmdline", "", "kernel command line for --kernel")
	fl.StringVar(&f.iso, "iso", "", "install ISO to boot from (EFI)")
	fl.StringVar(&f.importDisk, "import-disk", "", "use a copy of this disk image (raw, qcow2, VMDK, VDI, VHD, VHDX) as the main disk")
	fl.StringVar(&f.ipsw, "ipsw", "latest", "macOS restore image: latest, an https URL or a .ipsw file (with --os macos)")
	fl.StringArrayVar(&f.shares, "share", nil, "share a host folder: PATH[:TAG][:ro] (repeatable)")
	fl.BoolVar(&f.clipboard, "clipboard", true, "share the clipboard (SPICE agent)")
	fl.BoolVar(&f.disposable, "disposable", false, "always run without keeping changes")
	fl.BoolVar(&f.rosetta, "rosetta", false, "Rosetta for x86_64 Linux programs (vz on Apple silicon)")
	fl.BoolVar(&f.serial, "serial", true, "log the serial console to run/console.log")
	fl.StringVar(&f.network, "network", vm.NetNAT, "nat, none, or bridged:INTERFACE")
	cmd.Flags().BoolVar(&e.json, "json", false, "print the new VM as JSON")
	return cmd
}

func (f *createFlags) config(name string) (*vm.Config, error) {
	c := &vm.Config{Version: vm.ConfigVersion, Name: name, OS: f.os, Backend: f.backend, Arch: f.arch, CPUs: f.cpus,
		Clipboard: f.clipboard, Disposable: f.disposable, Rosetta: f.rosetta, Serial: f.serial}
	if f.cpus < 1 {
		return nil, fmt.Errorf("--cpus is %d; a VM needs at least 1 CPU", f.cpus)
	}
	var err error
	if c.Memory, err = vm.ParseSize(f.memory); err != nil {
		return nil, fmt.Errorf("--memory: %w", err)
	}
	disk, err := vm.ParseSize(f.disk)
	if err != nil {
		return nil, fmt.Errorf("--disk: %w", err)
	}
	if f.importDisk != "" {
		size, err := newImporter(nil, f.qemuPath).DiskSize(context.Background(), f.importDisk)
		if err != nil {
			return nil, fmt.Errorf("--import-disk: %w", err)
		}
		disk = size
	}
	if disk > 0 {
		c.Disks = []vm.Disk{{File: vm.DiskFileName(0), Size: disk}}
	}
	abs := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		return filepath.Abs(p)
	}
	if c.Boot.Kernel, err = abs(f.kernel); err != nil {
		return nil, err
	}
	if c.Boot.Initrd, err = abs(f.initrd); err != nil {
		return nil, err
	}
	if c.Boot.ISO, err = abs(f.iso); err != nil {
		return nil, err
	}
	c.Boot.Cmdline = f.cmdline
	switch mode, iface, _ := strings.Cut(f.network, ":"); mode {
	case vm.NetBridged:
		c.Network = vm.Network{Mode: vm.NetBridged, Interface: iface}
	default:
		c.Network = vm.Network{Mode: mode}
	}
	for _, s := range f.shares {
		sh, err := parseShareFlag(s)
		if err != nil {
			return nil, err
		}
		c.Shares = append(c.Shares, sh)
	}
	c.FillDefaults()
	if c.OS == vm.OSMacOS && len(c.Disks) > 0 && disk == vm.DefaultDisk {
		c.Disks[0].Size = 80 * vm.GiB
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, c.CheckPaths()
}

// parseShareFlag reads PATH[:TAG][:ro].
func parseShareFlag(s string) (vm.Share, error) {
	parts := strings.Split(s, ":")
	sh := vm.Share{Path: parts[0]}
	for _, p := range parts[1:] {
		switch {
		case p == "ro":
			sh.ReadOnly = true
		case sh.Tag == "":
			sh.Tag = p
		default:
			return sh, fmt.Errorf("--share %q: write PATH[:TAG][:ro]", s)
		}
	}
	abs, err := filepath.Abs(sh.Path)
	if err != nil {
		return sh, err
	}
	sh.Path = abs
	return sh, nil
}

func showCommand(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a VM's state and settings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			info, err := lib.Inspect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if e.json {
				return printJSON(out, info)
			}
			fmt.Fprintf(out, "%s: %s\n", info.Name, info.State)
			if info.Err != nil {
				fmt.Fprintf(out, "problem: %s\n", info.Error)
				return nil
			}
			fmt.Fprintf(out, "folder: %s\ndisks: %s\n\n", info.Dir, diskSummary(info.Disks))
			_, err = out.Write(info.Config.Encode())
			return err
		},
	}
	cmd.Flags().BoolVar(&e.json, "json", false, "print JSON")
	return cmd
}

func editCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "edit NAME",
		Short: "Edit a VM's config.toml in $EDITOR; it is checked before it is saved",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			b, err := lib.Bundle(args[0])
			if err != nil {
				return err
			}
			data, err := os.ReadFile(b.ConfigPath())
			if err != nil {
				return fmt.Errorf("%q: %w", args[0], vm.ErrNotFound)
			}
			tmp, err := os.CreateTemp("", "vivarium-*.toml")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			tmp.Write(data)
			tmp.Close()
			editor := e.getenv("VISUAL")
			if editor == "" {
				editor = e.getenv("EDITOR")
			}
			if editor == "" {
				editor = "vi"
			}
			interactive := term.IsTerminal(int(os.Stdin.Fd()))
			for {
				ed := exec.CommandContext(cmd.Context(), "sh", "-c", editor+` "$1"`, "sh", tmp.Name())
				ed.Stdin, ed.Stdout, ed.Stderr = os.Stdin, os.Stdout, os.Stderr
				if err := ed.Run(); err != nil {
					return fmt.Errorf("editor %q: %w; set $EDITOR to your editor", editor, err)
				}
				edited, err := os.ReadFile(tmp.Name())
				if err != nil {
					return err
				}
				if bytes.Equal(edited, data) {
					fmt.Fprintln(cmd.OutOrStdout(), "No changes.")
					return nil
				}
				info, err := lib.SaveRaw(cmd.Context(), args[0], edited, vm.RevisionOf(data))
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "Saved %s.%s\n", info.Name, runningNote(info))
					return nil
				}
				if errors.Is(err, vm.ErrConfigChanged) {
					kept := tmp.Name() + ".yours"
					if werr := os.WriteFile(kept, edited, 0o600); werr != nil {
						return fmt.Errorf("not saved: %w; and your edit could not be kept: %w", err, werr)
					}
					return fmt.Errorf("not saved: %w. Your edit is in %s; run 'vivarium edit %s' again and make it there", err, kept, args[0])
				}
				if !interactive {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "Not saved: %s\nEdit again? [Y/n] ", oneLine(err))
				var answer string
				fmt.Fscanln(os.Stdin, &answer)
				if strings.HasPrefix(strings.ToLower(answer), "n") {
					return errors.New("not saved; config.toml is unchanged")
				}
			}
		},
	}
}

func runningNote(info *vm.Info) string {
	if info.State.Active() {
		return " It is running: the change applies at its next start."
	}
	return ""
}

func setCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "set NAME KEY=VALUE...",
		Short: "Change settings, e.g. vivarium set demo memory=8GiB cpus=4 display.width=1920",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			info, err := lib.Edit(cmd.Context(), args[0], func(c *vm.Config) error {
				next, err := vm.SetKeys(c, args[1:]...)
				if err != nil {
					return err
				}
				*c = *next
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Saved %s.%s\n", info.Name, runningNote(info))
			return nil
		},
	}
}

// newProgressBar draws a bar on stderr when it is a terminal, and nothing
// otherwise (scripts and logs get the final line only).
func newProgressBar(w io.Writer, total int64, what string) func(done, total int64) {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return func(int64, int64) {}
	}
	bar := progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100e6),
		progressbar.OptionClearOnFinish())
	return func(done, _ int64) { bar.Set64(done) }
}

func cloneCommand(e *env) *cobra.Command {
	var fromSnapshot string
	cmd := &cobra.Command{
		Use:   "clone SOURCE NEW-NAME",
		Short: "Copy a stopped VM, or one of its snapshots (copy-on-write where the filesystem can)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			if fromSnapshot != "" {
				info, err := snapshot.CloneFrom(cmd.Context(), lib, args[0], fromSnapshot, args[1])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Cloned snapshot %q of %s to %s (%s).\n", fromSnapshot, args[0], info.Name, diskSummary(info.Disks))
				return nil
			}
			src, err := lib.Inspect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var total int64
			for _, d := range src.Disks {
				total += int64(d.Size)
			}
			info, err := lib.Clone(cmd.Context(), args[0], args[1], newProgressBar(cmd.ErrOrStderr(), total, "cloning"))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Cloned %s to %s (%s).\n", args[0], info.Name, diskSummary(info.Disks))
			return nil
		},
	}
	cmd.Flags().StringVar(&fromSnapshot, "from-snapshot", "", "clone this snapshot of SOURCE instead of SOURCE as it is now (SOURCE may run)")
	return cmd
}

func renameCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "rename NAME NEW-NAME",
		Short: "Rename a stopped VM",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			info, err := lib.Rename(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Renamed %s to %s.\n", args[0], info.Name)
			return nil
		},
	}
}

func deleteCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME...",
		Aliases: []string{"rm"},
		Short:   "Delete stopped VMs and their disks",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := e.library()
			if err != nil {
				return err
			}
			var errs []error
			for _, name := range args {
				if err := lib.Delete(cmd.Context(), name); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Deleted %s.\n", name)
			}
			return errors.Join(errs...)
		},
	}
}
