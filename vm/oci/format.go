// Package oci pushes VMs to OCI registries and pulls them back, in Tart's
// image format, so that Vivarium and Tart users share one catalogue.
//
// An image is an OCI manifest whose layers are: Tart's config (JSON), the
// first disk as LZ4-compressed chunks (Apple's framing, see lz4.go) with
// each chunk's uncompressed size and digest in annotations, the NVRAM (the
// EFI variable store, or a macOS guest's auxiliary storage), and Vivarium's
// own layers that Tart ignores: the config.toml and any further disks.
//
// A pull keeps every verified chunk in a content store under the library
// (chunks by digest), so an interrupted pull continues where it stopped and
// a second image sharing chunks downloads only what it lacks.
package oci

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/opencontainers/go-digest"

	"github.com/vivarium-vm/vivarium/vm"
)

// Media types and annotations of Tart's format.
const (
	MediaTypeTartConfig = "application/vnd.cirruslabs.tart.config.v1"
	MediaTypeTartDisk   = "application/vnd.cirruslabs.tart.disk.v2"
	MediaTypeTartDiskV1 = "application/vnd.cirruslabs.tart.disk.v1"
	MediaTypeTartNVRAM  = "application/vnd.cirruslabs.tart.nvram.v1"

	AnnotationUncompressedDiskSize = "org.cirruslabs.tart.uncompressed-disk-size"
	AnnotationUploadTime           = "org.cirruslabs.tart.upload-time"
	AnnotationUncompressedSize     = "org.cirruslabs.tart.uncompressed-size"
	AnnotationUncompressedDigest   = "org.cirruslabs.tart.uncompressed-content-digest"
	LabelDiskFormat                = "org.cirruslabs.tart.disk.format"
)

// Vivarium's own layers, which Tart skips.
const (
	// MediaTypeVivariumConfig is the VM's config.toml with its host-bound
	// paths taken out (they travel beside it, see vivariumLayer).
	MediaTypeVivariumConfig = "application/vnd.vivarium.config.v1+json"
	// MediaTypeVivariumDisk is a chunk of a disk after the first, framed
	// like Tart's disk chunks; AnnotationFile names the disk.
	MediaTypeVivariumDisk = "application/vnd.vivarium.disk.v1"
	// MediaTypeVivariumFile is a small file of the VM directory (an EFI
	// store that Tart's NVRAM layer does not carry, say), named by
	// AnnotationFile.
	MediaTypeVivariumFile = "application/vnd.vivarium.file.v1"
	AnnotationFile        = "org.vivarium.file"
)

// zeroDigests are the digests of all-zero chunks of the usual sizes, so
// that neither a push nor a pull spends seconds hashing zeros to know them
// (zero_test.go checks them).
var zeroDigests = map[int64]digest.Digest{
	DefaultChunkSize: "sha256:9acca8e8c22201155389f65abbf6bc9723edc7384ead80503839f49dcc56d767",
}

// zeroDigest is the digest of n zero bytes.
func zeroDigest(n int64) digest.Digest {
	if d, ok := zeroDigests[n]; ok {
		return d
	}
	h := sha256.New()
	zeros := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zeros)) {
		h.Write(zeros[:min(int64(len(zeros)), left)])
	}
	return digest.NewDigest(digest.SHA256, h)
}

// DefaultChunkSize is how much of a disk one layer holds before
// compression: Tart's size, so Tart and Vivarium images share chunks.
const DefaultChunkSize = 512 << 20

// tartConfig is Tart's config.json (VMConfig.swift): what Tart needs to
// run the VM. Unknown fields of a newer Tart are kept as they are.
type tartConfig struct {
	Version       int          `json:"version"`
	OS            string       `json:"os"`   // darwin | linux
	Arch          string       `json:"arch"` // arm64 | amd64
	CPUCountMin   int          `json:"cpuCountMin"`
	CPUCount      int          `json:"cpuCount"`
	MemorySizeMin uint64       `json:"memorySizeMin"`
	MemorySize    uint64       `json:"memorySize"`
	MACAddress    string       `json:"macAddress"`
	Display       *tartDisplay `json:"display,omitempty"`
	DiskFormat    string       `json:"diskFormat,omitempty"`
	// macOS guests: base64 of the machine identifier's and the hardware
	// model's data representation (Vivarium's machine-id.bin and
	// hardware-model.bin hold exactly those bytes).
	ECID          string `json:"ecid,omitempty"`
	HardwareModel string `json:"hardwareModel,omitempty"`
}

type tartDisplay struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// ociImageConfig is the manifest's config blob: Tart writes a stub with
// the architecture, OS and labels, for registries that need one.
type ociImageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       struct {
		Labels map[string]string `json:"Labels,omitempty"`
	} `json:"config"`
}

// vivariumLayer is the content of the MediaTypeVivariumConfig layer.
type vivariumLayer struct {
	// Config is config.toml as the VM had it, minus HostPaths.
	Config string `json:"config"`
	// HostPaths are the config's host-bound paths, key → path, taken out
	// because they name files on the pushing host (shares, boot files). A
	// pull puts back those that exist on its host.
	HostPaths map[string]string `json:"hostPaths,omitempty"`
}

// tartArch and vivariumArch map architecture names between the formats.
func tartArch(a string) string {
	if a == vm.ArchAMD64 {
		return "amd64"
	}
	return a
}

func vivariumArch(a string) string {
	if a == "amd64" {
		return vm.ArchAMD64
	}
	return a
}

// tartConfigFor is the Tart config of the VM c in b.
func tartConfigFor(b vm.Bundle, c *vm.Config) (*tartConfig, error) {
	tc := &tartConfig{
		Version: 1, OS: "linux", Arch: tartArch(c.Arch),
		CPUCountMin: c.CPUs, CPUCount: c.CPUs,
		MemorySizeMin: uint64(c.Memory), MemorySize: uint64(c.Memory),
		MACAddress: c.Network.MAC,
		DiskFormat: "raw",
	}
	if c.Display.Width > 0 && c.Display.Height > 0 {
		tc.Display = &tartDisplay{Width: c.Display.Width, Height: c.Display.Height}
	}
	if tc.MACAddress == "" {
		tc.MACAddress = vm.RandomMAC() // Tart requires one
	}
	if c.OS == vm.OSMacOS {
		tc.OS = "darwin"
		for _, f := range []struct {
			path string
			to   *string
		}{{b.MachineIDPath(), &tc.ECID}, {b.HardwareModelPath(), &tc.HardwareModel}} {
			data, err := os.ReadFile(f.path)
			if err != nil {
				return nil, fmt.Errorf("%w; a macOS VM needs it to be pushed (was macOS fully installed?)", err)
			}
			*f.to = base64.StdEncoding.EncodeToString(data)
		}
	}
	return tc, nil
}

// vivariumConfigFromTart makes a Vivarium config for an image that has no
// Vivarium layer: one Tart pushed.
func vivariumConfigFromTart(name string, tc *tartConfig, diskSize int64) (*vm.Config, error) {
	osName := vm.OSLinux
	switch tc.OS {
	case "darwin":
		osName = vm.OSMacOS
	case "linux", "":
	default:
		return nil, fmt.Errorf("the image's Tart config says os %q; Vivarium runs \"darwin\" and \"linux\" images", tc.OS)
	}
	c := vm.NewConfig(name, osName)
	c.Backend = vm.BackendVZ
	if tc.Arch != "" {
		c.Arch = vivariumArch(tc.Arch)
	}
	if tc.CPUCount > 0 {
		c.CPUs = tc.CPUCount
	}
	if tc.MemorySize > 0 {
		c.Memory = vm.Size(tc.MemorySize)
	}
	if tc.Display != nil {
		c.Display.Width, c.Display.Height = tc.Display.Width, tc.Display.Height
	}
	c.Network = vm.Network{Mode: vm.NetNAT, MAC: tc.MACAddress}
	c.Disks = []vm.Disk{{File: vm.DiskFileName(0), Size: vm.Size(diskSize)}}
	c.FillDefaults()
	return c, nil
}

func parseSize(annotations map[string]string, key string) (int64, error) {
	v, ok := annotations[key]
	if !ok {
		return 0, fmt.Errorf("the layer lacks its %s annotation", key)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("the layer's %s annotation %q is not a size", key, v)
	}
	return n, nil
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs of ours reach here
	}
	return data
}
