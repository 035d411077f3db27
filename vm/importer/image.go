package importer

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// Format is a disk image format, named as qemu-img names it.
type Format string

// Disk image formats an import recognises by their header.
const (
	FormatRaw   Format = "raw"
	FormatQCOW2 Format = "qcow2"
	FormatVMDK  Format = "vmdk"
	FormatVDI   Format = "vdi"
	FormatVHDX  Format = "vhdx"
	FormatVHD   Format = "vpc" // Microsoft's older VHD
	FormatOVA   Format = "ova" // a tar of an OVF description and its VMDK disks
	// FormatASIF is Apple's sparse image format (macOS 26); its files carry
	// no header an import can read on other hosts, so tools' configs say it.
	FormatASIF Format = "asif"
	// FormatDMG covers Apple's disk images (.dmg, .sparseimage) VirtualBuddy
	// can use for extra disks.
	FormatDMG Format = "dmg"
	// Files that are no disk image, recognised to say what to do instead.
	FormatZip        Format = "zip"
	FormatCompressed Format = "compressed"
	FormatISO        Format = "iso"
)

// Image is a disk image file: its format, from its header, and the size of
// the disk it holds (the file may be much smaller).
type Image struct {
	Path   string
	Format Format
	Size   int64
}

// Converter turns a disk image of another format into a raw image.
// *qemu.ImageTool (qemu-img convert) is one; app wires it.
type Converter interface {
	// Convert writes src (of format) to the new raw image dst, keeping holes,
	// reporting bytes of the disk done. It never writes src.
	Convert(ctx context.Context, src string, format Format, dst string, progress vm.Progress) error
	// Size is the size of the disk held by src.
	Size(ctx context.Context, src string, format Format) (int64, error)
}

// ErrNeedsConverter means a disk image must be converted and no converter
// (qemu-img) is available.
var ErrNeedsConverter = errors.New("converting this disk image needs qemu-img")

// ProbeImage reads the header of the file at path and says what it is. It
// never trusts the name: a .img may be qcow2, a .qcow2 may be raw.
func ProbeImage(path string) (Image, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Image{}, fmt.Errorf("%s is missing: %w; import the whole VM folder as the tool left it", path, fs.ErrNotExist)
	}
	if err != nil {
		return Image{}, fmt.Errorf("cannot read %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Image{}, fmt.Errorf("disk image %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return Image{}, fmt.Errorf("disk image %s is not a file; choose the image itself", path)
	}
	img := Image{Path: path, Format: FormatRaw, Size: st.Size()}
	head := make([]byte, 1024)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Image{}, fmt.Errorf("disk image %s: %w", path, err)
	}
	head = head[:n]
	le, be := binary.LittleEndian, binary.BigEndian
	switch {
	case bytes.HasPrefix(head, []byte("QFI\xfb")) && len(head) >= 32:
		img.Format, img.Size = FormatQCOW2, int64(be.Uint64(head[24:]))
	case bytes.HasPrefix(head, []byte("KDMV")) && len(head) >= 20:
		img.Format, img.Size = FormatVMDK, int64(le.Uint64(head[12:]))*512
	case bytes.HasPrefix(head, []byte("COWD")):
		img.Format = FormatVMDK
	case bytes.HasPrefix(head, []byte("# Disk DescriptorFile")):
		img.Format = FormatVMDK
		if sectors := vmdkDescriptorSectors(head); sectors > 0 {
			img.Size = sectors * 512
		}
	case len(head) >= 0x178 && le.Uint32(head[0x40:]) == 0xbeda107f:
		img.Format, img.Size = FormatVDI, int64(le.Uint64(head[0x170:]))
	case bytes.HasPrefix(head, []byte("shdw")):
		img.Format = FormatASIF
	case bytes.HasPrefix(head, []byte("sprs")):
		img.Format = FormatDMG // a .sparseimage
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		img.Format = FormatZip
	case bytes.HasPrefix(head, []byte("\x1f\x8b")), bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")),
		bytes.HasPrefix(head, []byte("\x28\xb5\x2f\xfd")), bytes.HasPrefix(head, []byte("BZh")):
		img.Format = FormatCompressed // gzip, xz, zstd, bzip2
	case bytes.HasPrefix(head, []byte("vhdxfile")):
		img.Format = FormatVHDX
	case bytes.HasPrefix(head, []byte("conectix")) && len(head) >= 56:
		img.Format, img.Size = FormatVHD, int64(be.Uint64(head[48:]))
	case len(head) >= 263 && string(head[257:262]) == "ustar":
		img.Format = FormatOVA
	case isISO(f):
		img.Format = FormatISO
	case st.Size() >= 512 && st.Size()%512 == 0:
		// A fixed VHD is raw data with a 512-byte footer at the end; a .dmg
		// (UDIF) ends with a "koly" trailer.
		foot := make([]byte, 512)
		if _, err := f.ReadAt(foot, st.Size()-512); err == nil {
			switch {
			case bytes.HasPrefix(foot, []byte("conectix")):
				img.Format, img.Size = FormatVHD, int64(be.Uint64(foot[48:]))
			case bytes.HasPrefix(foot, []byte("koly")):
				img.Format = FormatDMG
			}
		}
	}
	return img, nil
}

// isISO reports an ISO 9660 image (an installer), by its volume descriptor.
func isISO(f *os.File) bool {
	id := make([]byte, 5)
	_, err := f.ReadAt(id, 0x8001)
	return err == nil && string(id) == "CD001"
}

// checkDisk refuses a file given as a disk image that is not one, saying
// what it is and what to do with it.
func checkDisk(img Image) error {
	switch img.Format {
	case FormatZip:
		return fmt.Errorf("%s is a zip archive, not a disk image: unzip it first (a .utm.zip holds a .utm bundle to import)", img.Path)
	case FormatCompressed:
		return fmt.Errorf("%s is compressed (gzip, xz, zstd or bzip2): decompress it first, then import the image inside", img.Path)
	case FormatISO:
		return fmt.Errorf("%s is an installer ISO, not a VM's disk: make a VM that boots it (vivarium create --iso, or the wizard's Linux from an installer ISO)", img.Path)
	case FormatRaw:
		if img.Size < 512 || img.Size%512 != 0 {
			return fmt.Errorf("%s is not a disk image: a raw disk is a whole number of 512-byte sectors and this file is %d bytes", img.Path, img.Size)
		}
	}
	return nil
}

// unwrapPath drops the path an *fs.PathError repeats, for messages that
// name the file already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// vmdkDescriptorSectors adds up the extents of a VMDK descriptor (a split
// VMDK's small text file naming its parts).
func vmdkDescriptorSectors(text []byte) int64 {
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && (fields[0] == "RW" || fields[0] == "RDONLY") {
			if n, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				total += n
			}
		}
	}
	return total
}

// CopyMethod says how a disk came into the VM.
type CopyMethod string

// How disks are brought over, cheapest first.
const (
	MethodClone     CopyMethod = "cloned"    // copy-on-write, no space used
	MethodSparse    CopyMethod = "copied"    // data copied, holes kept
	MethodConverted CopyMethod = "converted" // qemu-img convert to raw
)

// BringDisk puts the disk image src into dst, a new raw image: cloned
// where the filesystem can, else copied keeping holes when src is raw,
// else converted. A qcow2 is never copied as if it were raw. src is only
// read. It returns how and the size of the disk.
func BringDisk(ctx context.Context, conv Converter, src Image, dst string, progress vm.Progress) (CopyMethod, int64, error) {
	switch src.Format {
	case FormatRaw:
		mode, err := vm.CopyDisk(ctx, src.Path, dst, progress)
		if err != nil {
			return "", 0, fmt.Errorf("copying %s: %w", src.Path, err)
		}
		// The source may be read-only (a fixture, a locked-down share); the
		// VM's copy is its own, to write.
		if err := os.Chmod(dst, 0o644); err != nil {
			return "", 0, err
		}
		st, err := os.Stat(dst)
		if err != nil {
			return "", 0, err
		}
		if mode == vm.CopyClone {
			return MethodClone, st.Size(), nil
		}
		return MethodSparse, st.Size(), nil
	case FormatZip, FormatCompressed, FormatISO:
		return "", 0, checkDisk(src)
	case FormatASIF, FormatDMG, FormatOVA:
		return "", 0, fmt.Errorf("%s is in the %s format, which Vivarium cannot use or convert; convert it to a raw image first on a Mac (diskutil image convert, format RAW) and import that", src.Path, src.Format)
	}
	if conv == nil {
		return "", 0, fmt.Errorf("%s is a %s image: %w; install QEMU's tools (Debian: apt-get install qemu-utils; macOS: brew install qemu)", src.Path, src.Format, ErrNeedsConverter)
	}
	if err := conv.Convert(ctx, src.Path, src.Format, dst, progress); err != nil {
		os.Remove(dst)
		return "", 0, fmt.Errorf("converting %s from %s: %w", src.Path, src.Format, err)
	}
	st, err := os.Stat(dst)
	if err != nil {
		return "", 0, err
	}
	return MethodConverted, st.Size(), nil
}

// planImage plans the import of one disk image (or .ova) as a new VM.
func planImage(ctx context.Context, conv Converter, path string, img Image, p *Plan) error {
	if img.Format == FormatOVA {
		return planOVA(path, p)
	}
	if err := checkDisk(img); err != nil {
		return err
	}
	if img.Size <= 0 && conv != nil {
		if n, err := conv.Size(ctx, path, img.Format); err == nil {
			img.Size = n
		}
	}
	p.Kind = KindImage
	p.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	p.Config.Boot.Mode = vm.BootEFI
	p.addDisk(img, false)
	p.NotBrought = append(p.NotBrought, "a disk image holds no settings: CPUs, memory and the rest are Vivarium's defaults; change them with 'vivarium set' or in Settings")
	return nil
}

// ovf is the little of an OVF envelope an import reads.
type ovf struct {
	References []struct {
		ID   string `xml:"id,attr"`
		Href string `xml:"href,attr"`
	} `xml:"References>File"`
	Disks []struct {
		DiskID   string `xml:"diskId,attr"`
		FileRef  string `xml:"fileRef,attr"`
		Capacity string `xml:"capacity,attr"`
		Units    string `xml:"capacityAllocationUnits,attr"`
	} `xml:"DiskSection>Disk"`
	System struct {
		ID    string `xml:"id,attr"`
		Name  string `xml:"Name"`
		Items []struct {
			ResourceType int    `xml:"ResourceType"`
			Quantity     int64  `xml:"VirtualQuantity"`
			Units        string `xml:"AllocationUnits"`
			HostResource string `xml:"HostResource"`
		} `xml:"VirtualHardwareSection>Item"`
		OS struct {
			Description string `xml:"Description"`
			Type        string `xml:"osType,attr"`
		} `xml:"OperatingSystemSection"`
	} `xml:"VirtualSystem"`
}

// planOVA reads an .ova (a tar holding an .ovf and its disks): CPUs,
// memory and the disks in the order the OVF lists them. The disks are read
// from the tar at bring time.
func planOVA(path string, p *Plan) error {
	members, err := tarMembers(path)
	if err != nil {
		return err
	}
	var desc []byte
	for _, m := range members {
		if strings.HasSuffix(strings.ToLower(m.name), ".ovf") {
			if desc, err = readTarMember(path, m); err != nil {
				return err
			}
			break
		}
	}
	if desc == nil {
		return fmt.Errorf("%s is a tar without an .ovf description; an .ova holds one (export the VM again as OVA)", path)
	}
	var o ovf
	if err := xml.Unmarshal(desc, &o); err != nil {
		return fmt.Errorf("%s: its OVF description cannot be read: %w", path, err)
	}
	p.Kind = KindImage
	p.Name = strings.TrimSpace(o.System.Name)
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	for _, it := range o.System.Items {
		switch it.ResourceType {
		case 3: // processors
			p.Config.CPUs = int(it.Quantity)
		case 4: // memory
			p.Config.Memory = vm.Size(it.Quantity * ovfUnits(it.Units, 1<<20))
		}
	}
	p.Config.OS = guessOS(p.Name, o.System.OS.Description+" "+o.System.OS.Type)
	p.Config.Boot.Mode = vm.BootEFI
	href := map[string]string{}
	for _, r := range o.References {
		href[r.ID] = r.Href
	}
	for _, d := range o.Disks {
		name := href[d.FileRef]
		var member *tarMember
		for i := range members {
			if members[i].name == name {
				member = &members[i]
			}
		}
		if member == nil {
			p.NotBrought = append(p.NotBrought, fmt.Sprintf("disk %s: its file %q is not in the .ova", d.DiskID, name))
			continue
		}
		capacity, _ := strconv.ParseInt(d.Capacity, 10, 64)
		size := capacity * ovfUnits(d.Units, 1)
		p.Disks = append(p.Disks, Item{Dest: vm.DiskFileName(len(p.Disks)), Path: path, Member: member.name, Format: FormatVMDK, What: "disk " + name})
		p.Config.Disks = append(p.Config.Disks, vm.Disk{File: vm.DiskFileName(len(p.Config.Disks)), Size: vm.Size(max(size, int64(vm.MinDiskSize)))})
	}
	if len(p.Disks) == 0 {
		return fmt.Errorf("%s: the .ova lists no disk Vivarium can find", path)
	}
	p.NotBrought = append(p.NotBrought, "the OVF's virtual hardware (controllers, network cards, sound) beyond CPUs, memory and disks")
	return nil
}

// ovfUnits reads AllocationUnits such as "byte * 2^20" or "MegaBytes".
func ovfUnits(u string, def int64) int64 {
	u = strings.ToLower(strings.ReplaceAll(u, " ", ""))
	switch {
	case u == "":
		return def
	case strings.HasPrefix(u, "byte*2^"):
		if n, err := strconv.Atoi(strings.TrimPrefix(u, "byte*2^")); err == nil && n < 63 {
			return 1 << n
		}
	case u == "byte" || u == "bytes":
		return 1
	case strings.HasPrefix(u, "kilo"):
		return 1 << 10
	case strings.HasPrefix(u, "mega"):
		return 1 << 20
	case strings.HasPrefix(u, "giga"):
		return 1 << 30
	}
	return def
}

type tarMember struct {
	name   string
	offset int64
	size   int64
}

// tarMembers lists the files of a tar and where their data starts, so
// that a disk inside can be read in place.
func tarMembers(path string) ([]tarMember, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	var out []tarMember
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading the .ova (a tar): %w", path, err)
		}
		if h.Typeflag == tar.TypeReg {
			out = append(out, tarMember{name: h.Name, offset: cr.n, size: h.Size})
		}
	}
	return out, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func readTarMember(path string, m tarMember) ([]byte, error) {
	if m.size > 16<<20 {
		return nil, fmt.Errorf("%s: %s is too large for an OVF description", path, m.name)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, m.size)
	_, err = f.ReadAt(buf, m.offset)
	return buf, err
}

// extractTarMember copies one member of the tar at path into dst.
func extractTarMember(ctx context.Context, path, name, dst string) error {
	members, err := tarMembers(path)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.name != name {
			continue
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, io.NewSectionReader(in, m.offset, m.size))
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = ctx.Err()
		}
		return err
	}
	return fmt.Errorf("%s: no %s inside", path, name)
}

// ImportDisk brings the disk image at src, whatever its format, into dst
// as a raw image (see BringDisk). It is the one way a disk image enters a
// VM: the create command's --import-disk, the wizard's existing-disk kind
// and every import use it.
func ImportDisk(ctx context.Context, conv Converter, src, dst string, progress vm.Progress) (CopyMethod, int64, error) {
	img, err := ProbeImage(src)
	if err != nil {
		return "", 0, err
	}
	if err := checkDisk(img); err != nil {
		return "", 0, err
	}
	return BringDisk(ctx, conv, img, dst, progress)
}

// DiskSize is the size of the disk the image at path holds, from its
// header (the file of a qcow2 or VMDK is smaller than its disk).
func DiskSize(ctx context.Context, conv Converter, path string) (vm.Size, error) {
	img, err := ProbeImage(path)
	if err != nil {
		return 0, err
	}
	if img.Format == FormatOVA {
		return 0, fmt.Errorf("%s is an .ova (a whole VM): import it with 'vivarium import' or the wizard's Import a VM…", path)
	}
	if err := checkDisk(img); err != nil {
		return 0, err
	}
	if img.Size <= 0 && conv != nil {
		if img.Size, err = conv.Size(ctx, path, img.Format); err != nil {
			return 0, err
		}
	}
	return vm.Size(img.Size), nil
}
