// Package vzmod is the darwincheck tests' stand-in for a package with a vz
// backend: darwin files that use vz beside a portable one.
package vzmod

// Spec is what a VM is made from.
type Spec struct {
	Kernel  string
	Disk    string
	CPUs    uint
	Memory  uint64
	Rosetta bool
}
