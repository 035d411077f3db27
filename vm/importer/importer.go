// Package importer brings VMs made by other tools — UTM (.utm), Tart (VM
// folders), VirtualBuddy (.vbvm) — and plain disk images (raw, qcow2,
// VMDK, VDI, VHD(X), .ova) into the library, and exports VMs as UTM
// bundles. One file per source tool: utm.go, tart.go, virtualbuddy.go,
// image.go.
//
// An import is planned first (Plan: read-only, it reads the source's
// configuration and probes every disk's header), then built by
// vm.Library.Create in a temporary folder that is renamed into place, so a
// failed or interrupted import leaves nothing. The source is only ever
// opened for reading. Whatever cannot be brought over is listed in the
// plan's NotBrought, never dropped silently.
package importer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// Kind is the tool a source comes from.
type Kind string

// Kinds of sources.
const (
	KindUTM          Kind = "UTM"
	KindTart         Kind = "Tart"
	KindVirtualBuddy Kind = "VirtualBuddy"
	KindImage        Kind = "disk image"
)

// Item is one file the new VM gets from the source.
type Item struct {
	Dest   string // file name inside the new VM's folder
	Path   string // the source file; empty when Data holds the content
	Member string // for an .ova: the file inside the tar at Path
	Data   []byte
	Format Format // of Path, from its header
	What   string // what it is, for messages
	// Verbatim copies the file's bytes as they are (a kernel, an initrd).
	Verbatim bool
	// VZOnly marks a file only Apple's framework reads (its EFI variable
	// store); a VM imported to the qemu backend goes without it.
	VZOnly bool
}

// Plan is what an import will make: the new VM's config, the files it gets
// and from where, and what cannot be brought over.
type Plan struct {
	Kind   Kind
	Source string // the path given
	Name   string // the name the source gives the VM
	Config *vm.Config
	// Disks holds where each of Config.Disks comes from, in order.
	Disks []Item
	// Files are the other files: EFI variables, macOS identity and
	// auxiliary storage, kernel and initrd.
	Files []Item
	// NotBrought lists, one sentence each, what the source has that the new
	// VM will not.
	NotBrought []string
	// Notes are things the person should know (a MAC address kept).
	Notes []string
	// SourceMAC is the source VM's MAC address, when it records one.
	SourceMAC string
}

// Options adjust an import.
type Options struct {
	// Name is the new VM's name; empty means the source's own name (made
	// unique in the library).
	Name string
	// Backend forces "vz" or "qemu"; empty chooses from the source and host.
	Backend string
	// KeepMAC keeps the source's MAC address instead of making a new one.
	KeepMAC bool
	// HostCPUs is what "as many CPUs as the host's default" becomes (UTM
	// writes 0 for it); 0 means half of this host's CPUs, at least 2.
	HostCPUs int
	// Progress reports bytes of disk brought over, out of the total.
	Progress vm.Progress
}

// Library is where imports land. *vm.Library is one.
type Library interface {
	Create(ctx context.Context, c *vm.Config, opts vm.CreateOptions) (*vm.Info, error)
	Bundle(name string) (vm.Bundle, error)
	Inspect(ctx context.Context, name string) (*vm.Info, error)
}

var _ Library = (*vm.Library)(nil)

// Importer imports into a library.
type Importer struct {
	Library Library
	// Converter converts disk images that are not raw; nil refuses them
	// with a sentence saying what to install.
	Converter Converter
}

// Result is a finished import.
type Result struct {
	Info *vm.Info
	Plan *Plan
	// Methods says how each disk came over, in order.
	Methods []CopyMethod
}

// Detect says what kind of source path is, from its contents.
func Detect(path string) (Kind, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s does not exist: %w; check the path", path, os.ErrNotExist)
	}
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", path, err)
	}
	if !st.IsDir() {
		return KindImage, nil
	}
	has := func(name string) bool { _, err := os.Stat(filepath.Join(path, name)); return err == nil }
	switch {
	case has(utmConfigFile):
		return KindUTM, nil
	case has(filepath.Join(vbDataDir, vbConfigFile)):
		return KindVirtualBuddy, nil
	case has(tartConfigFile):
		return KindTart, nil
	}
	return "", fmt.Errorf("%s is a folder Vivarium does not know: a UTM bundle has config.plist, a Tart VM config.json, a VirtualBuddy .vbvm .vbdata/Config.plist; to import a disk image, give the image file itself", path)
}

// Plan reads the source at path and says what the import will make. It
// only reads.
func (im *Importer) Plan(ctx context.Context, path string, opts Options) (*Plan, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	path = filepath.Clean(abs)
	kind, err := Detect(path)
	if err != nil {
		return nil, err
	}
	p := &Plan{Kind: kind, Source: path, Config: &vm.Config{Version: vm.ConfigVersion, Serial: true}}
	hostCPUs := opts.HostCPUs
	if hostCPUs <= 0 {
		hostCPUs = max(2, runtime.NumCPU()/2)
	}
	switch kind {
	case KindUTM:
		err = planUTM(path, hostCPUs, p)
	case KindTart:
		err = planTart(path, p)
	case KindVirtualBuddy:
		err = planVirtualBuddy(path, p)
	default:
		var img Image
		if img, err = ProbeImage(path); err == nil {
			err = planImage(ctx, im.Converter, path, img, p)
		}
	}
	if err != nil {
		return nil, err
	}
	c := p.Config
	if opts.Backend != "" {
		c.Backend = opts.Backend // a macOS guest on qemu is refused by Validate, saying why
	}
	if c.Backend == "" {
		c.Backend = vm.DefaultBackend()
	}
	if c.Backend != vm.BackendQEMU && len(c.Network.Forwards) > 0 {
		p.notBrought("the port forwards %s: Vivarium forwards ports of QEMU VMs only", strings.Join(c.Network.Forwards, ", "))
		c.Network.Forwards = nil
	}
	if c.Backend != vm.BackendVZ {
		kept := p.Files[:0]
		for _, f := range p.Files {
			if f.VZOnly {
				p.notBrought("%s, in Apple's format: QEMU starts with fresh ones and finds the boot loader on the disk", f.What)
				continue
			}
			kept = append(kept, f)
		}
		p.Files = kept
	}
	if c.Rosetta && c.Backend != vm.BackendVZ {
		c.Rosetta = false
		p.NotBrought = append(p.NotBrought, "Rosetta: it needs the vz backend on an Apple silicon Mac")
	}
	if opts.KeepMAC {
		if p.SourceMAC != "" {
			c.Network.MAC = strings.ToLower(p.SourceMAC)
			p.Notes = append(p.Notes, fmt.Sprintf("The MAC address %s is kept: do not run the %s VM at the same time on the same network.", c.Network.MAC, kind))
		} else {
			p.Notes = append(p.Notes, fmt.Sprintf("The %s source records no MAC address; the VM gets a new one.", kind))
		}
	}
	c.Name = opts.Name
	if c.Name == "" {
		c.Name = im.uniqueName(ctx, cleanName(p.Name))
	}
	im.placeBootFiles(p)
	c.FillDefaults()
	if err := c.Validate(); err != nil {
		return p, fmt.Errorf("importing %s: the VM it would make is not valid: %w", path, err)
	}
	return p, nil
}

// Import plans the import of path and makes the VM: in a temporary folder,
// renamed into place once every file is there.
func (im *Importer) Import(ctx context.Context, path string, opts Options) (*Result, error) {
	p, err := im.Plan(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	return im.Make(ctx, p, opts.Progress)
}

// Make builds the VM p plans.
func (im *Importer) Make(ctx context.Context, p *Plan, progress vm.Progress) (*Result, error) {
	res := &Result{Plan: p}
	im.placeBootFiles(p) // the name may have changed since Plan
	var total int64
	for _, d := range p.Config.Disks {
		total += int64(d.Size)
	}
	prepare := func(ctx context.Context, tmp vm.Bundle, c *vm.Config) error {
		var base int64
		for i, d := range p.Disks {
			dst := tmp.DiskPath(c.Disks[i].File)
			// Create made an empty disk of the planned size; the source's replaces it.
			if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			var pr vm.Progress
			if progress != nil {
				start := base
				pr = func(done, _ int64) { progress(start+done, total) }
			}
			method, size, err := bringItem(ctx, im.Converter, tmp, d, dst, pr)
			if err != nil {
				return fmt.Errorf("%s: %w", d.What, err)
			}
			res.Methods = append(res.Methods, method)
			c.Disks[i].Size = vm.Size(size)
			base += int64(p.Config.Disks[i].Size)
		}
		for _, f := range p.Files {
			dst := tmp.DiskPath(f.Dest)
			if f.Data != nil {
				if err := vm.WriteFileAtomic(dst, f.Data, 0o644); err != nil {
					return err
				}
				continue
			}
			if _, _, err := bringItem(ctx, im.Converter, tmp, f, dst, nil); err != nil {
				return fmt.Errorf("%s: %w", f.What, err)
			}
		}
		if progress != nil {
			progress(total, total)
		}
		return nil
	}
	info, err := im.Library.Create(ctx, p.Config, vm.CreateOptions{Prepare: prepare})
	if err != nil {
		return nil, fmt.Errorf("importing %s: %w", p.Source, err)
	}
	res.Info = info
	return res, nil
}

// placeBootFiles points the config at the kernel and initrd, which travel
// inside the VM's folder.
func (im *Importer) placeBootFiles(p *Plan) {
	final, err := im.Library.Bundle(p.Config.Name)
	if err != nil {
		return // the name is refused by Validate, with its reason
	}
	for _, f := range p.Files {
		switch f.Dest {
		case vm.KernelFile:
			p.Config.Boot.Kernel = filepath.Join(final.Dir, vm.KernelFile)
		case vm.InitrdFile:
			p.Config.Boot.Initrd = filepath.Join(final.Dir, vm.InitrdFile)
		}
	}
}

// ImportDisk brings a disk image of any format into dst as a raw image,
// converting with im's Converter (see the package function ImportDisk).
func (im *Importer) ImportDisk(ctx context.Context, src, dst string, progress vm.Progress) (CopyMethod, int64, error) {
	return ImportDisk(ctx, im.Converter, src, dst, progress)
}

// DiskSize is the size of the disk the image at path holds.
func (im *Importer) DiskSize(ctx context.Context, path string) (vm.Size, error) {
	return DiskSize(ctx, im.Converter, path)
}

// bringItem brings one source file (a disk or a store) into dst.
func bringItem(ctx context.Context, conv Converter, tmp vm.Bundle, it Item, dst string, progress vm.Progress) (CopyMethod, int64, error) {
	src := it.Path
	if it.Member != "" {
		// A disk inside an .ova: take it out of the tar first, into the
		// temporary VM folder, which is removed with everything else on failure.
		part := filepath.Join(tmp.Dir, ".ova-"+filepath.Base(it.Member))
		if err := extractTarMember(ctx, it.Path, it.Member, part); err != nil {
			return "", 0, err
		}
		defer os.Remove(part)
		src = part
	}
	if it.Verbatim {
		if _, err := vm.CopyDisk(ctx, src, dst, progress); err != nil {
			return "", 0, err
		}
		return MethodSparse, 0, os.Chmod(dst, 0o644)
	}
	img, err := ProbeImage(src)
	if err != nil {
		return "", 0, err
	}
	if it.Format != "" && it.Format != img.Format && it.Format != FormatRaw {
		img.Format = it.Format // the tool's config knows (ASIF has no header we read)
	}
	return BringDisk(ctx, conv, img, dst, progress)
}

// addDisk adds a disk the source has, sized from its header.
func (p *Plan) addDisk(img Image, readOnly bool) {
	i := len(p.Config.Disks)
	size := vm.Size(max(img.Size, int64(vm.MinDiskSize)))
	p.Config.Disks = append(p.Config.Disks, vm.Disk{File: vm.DiskFileName(i), Size: size, ReadOnly: readOnly})
	p.Disks = append(p.Disks, Item{Dest: vm.DiskFileName(i), Path: img.Path, Format: img.Format, What: "disk " + filepath.Base(img.Path)})
}

// addFile adds a file (a store, a kernel) the source has at path.
func (p *Plan) addFile(dest, path, what string) error {
	if dest == vm.KernelFile || dest == vm.InitrdFile {
		// Boot files are not disks: their bytes come over as they are.
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		p.Files = append(p.Files, Item{Dest: dest, Path: path, Verbatim: true, What: what})
		return nil
	}
	img, err := ProbeImage(path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	p.Files = append(p.Files, Item{Dest: dest, Path: path, Format: img.Format, What: what})
	return nil
}

func (p *Plan) notBrought(format string, args ...any) {
	p.NotBrought = append(p.NotBrought, fmt.Sprintf(format, args...))
}

// cleanName makes a source's name into a valid VM name.
func cleanName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' {
			return '-'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if len(name) > vm.MaxNameBytes {
		name = strings.TrimSpace(name[:vm.MaxNameBytes])
	}
	if vm.ValidateName(name) != nil {
		return "Imported VM"
	}
	return name
}

// uniqueName returns name, or name with " 2", " 3"… when it is taken.
func (im *Importer) uniqueName(ctx context.Context, name string) string {
	for i := 1; ; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s %d", name, i)
		}
		if _, err := im.Library.Inspect(ctx, n); errors.Is(err, vm.ErrNotFound) {
			return n
		}
		if i > 1000 {
			return n
		}
	}
}
