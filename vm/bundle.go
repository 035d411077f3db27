package vm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// File names inside a VM directory. Every name lives here and nowhere else.
const (
	BundleExt       = ".vm"
	ConfigFile      = "config.toml"
	ConfigLockFile  = ".config.lock" // held while config.toml is read, changed and written
	EFIVarsFile     = "efi-vars.fd"
	AuxFile         = "aux.img"
	HardwareFile    = "hardware-model.bin"
	MachineIDFile   = "machine-id.bin"
	KernelFile      = "kernel" // a Linux kernel brought in by an import
	InitrdFile      = "initrd"
	SavedStateFile  = "state.vzvmsave"
	ThumbnailFile   = "thumbnail.png"
	RunDir          = "run"
	LockFile        = "lock"
	ControlSockFile = "control.sock"
	ConsoleLogFile  = "console.log"
	RunnerLogFile   = "runner.log"
	QMPSockFile     = "qmp.sock"
	SpiceSockFile   = "spice.sock"
	PIDFile         = "runner.pid"
	QEMUPIDFile     = "qemu.pid"
	DisposableDir   = "disposable"
	LastErrorFile   = "last-error.json"
	// SnapshotsDir holds one folder per named snapshot (vm/snapshot).
	SnapshotsDir = "snapshots"
	// SnapshotManifestFile describes a snapshot; it is written last, so a
	// snapshot folder without it was never finished.
	SnapshotManifestFile = "snapshot.json"
	// RestoringDir stages a snapshot's files during a restore; its
	// RestoreCommitFile says the staged files are complete and replace the
	// VM's.
	RestoringDir      = ".restoring"
	RestoreCommitFile = "commit.json"
	// SeedFile is the cloud-init NoCloud seed ("cidata") that guest setup
	// makes; while it exists every boot gets it as a read-only disk.
	SeedFile = "cidata.iso"
	// GuestSetupFile records what guest setup installed (user, key, host
	// key), for 'vivarium ssh'.
	GuestSetupFile = "guest-setup.json"
	// KnownHostsFile is the guest's SSH host key as ssh reads it, written
	// from GuestSetupFile by 'vivarium ssh'.
	KnownHostsFile = "known_hosts"
	// GuestHostKeyFile is the guest's SSH host key guest setup made (its
	// public half beside it, with ".pub"); every later setup reuses it.
	GuestHostKeyFile = "ssh_host_ed25519_key"
)

// rebase points a kernel and initrd kept inside the VM directory from (an
// imported VM's) at the same files in to, for a rename or a clone.
func (b *Boot) rebase(from, to Bundle) {
	for _, p := range []*string{&b.Kernel, &b.Initrd} {
		if rel, err := filepath.Rel(from.Dir, *p); err == nil && *p != "" && rel == filepath.Base(rel) && !strings.HasPrefix(rel, ".") {
			*p = filepath.Join(to.Dir, rel)
		}
	}
}

// maxSocketPath keeps unix socket paths under macOS's 104-byte sun_path.
const maxSocketPath = 100

// Bundle is a VM directory; all its paths are computed from Dir.
type Bundle struct{ Dir string }

// IsBundleName says whether a directory entry called name is a VM's
// folder: NAME.vm, not hidden (the library's own working folders are).
// Every listing of the library asks this, and nothing else.
func IsBundleName(name string) bool {
	return strings.HasSuffix(name, BundleExt) && len(name) > len(BundleExt) && !strings.HasPrefix(name, ".")
}

// Name is the VM's name: the directory name without ".vm".
func (b Bundle) Name() string { return strings.TrimSuffix(filepath.Base(b.Dir), BundleExt) }

func (b Bundle) path(name string) string    { return filepath.Join(b.Dir, name) }
func (b Bundle) runPath(name string) string { return filepath.Join(b.Dir, RunDir, name) }

func (b Bundle) ConfigPath() string          { return b.path(ConfigFile) }
func (b Bundle) ConfigLockPath() string      { return b.path(ConfigLockFile) }
func (b Bundle) DiskPath(file string) string { return b.path(file) }
func (b Bundle) EFIVarsPath() string         { return b.path(EFIVarsFile) }
func (b Bundle) AuxPath() string             { return b.path(AuxFile) }
func (b Bundle) HardwareModelPath() string   { return b.path(HardwareFile) }
func (b Bundle) MachineIDPath() string       { return b.path(MachineIDFile) }
func (b Bundle) SavedStatePath() string      { return b.path(SavedStateFile) }
func (b Bundle) ThumbnailPath() string       { return b.path(ThumbnailFile) }
func (b Bundle) SeedPath() string            { return b.path(SeedFile) }
func (b Bundle) GuestSetupPath() string      { return b.path(GuestSetupFile) }
func (b Bundle) KnownHostsPath() string      { return b.path(KnownHostsFile) }
func (b Bundle) GuestHostKeyPath() string    { return b.path(GuestHostKeyFile) }
func (b Bundle) RunDir() string              { return b.path(RunDir) }
func (b Bundle) LockPath() string            { return b.runPath(LockFile) }
func (b Bundle) ConsoleLogPath() string      { return b.runPath(ConsoleLogFile) }
func (b Bundle) RunnerLogPath() string       { return b.runPath(RunnerLogFile) }
func (b Bundle) PIDPath() string             { return b.runPath(PIDFile) }
func (b Bundle) QEMUPIDPath() string         { return b.runPath(QEMUPIDFile) }
func (b Bundle) DisposableDir() string       { return b.runPath(DisposableDir) }
func (b Bundle) LastErrorPath() string       { return b.runPath(LastErrorFile) }
func (b Bundle) SnapshotsDir() string        { return b.path(SnapshotsDir) }
func (b Bundle) RestoringDir() string        { return b.path(RestoringDir) }

// SnapshotDir is the folder of the snapshot called name.
func (b Bundle) SnapshotDir(name string) string { return filepath.Join(b.Dir, SnapshotsDir, name) }

// ControlSocketPath is run/control.sock, or, when that path is too long for
// a unix socket, a short path under a private per-user directory in /tmp
// derived from the VM directory, so every process computes the same one.
func (b Bundle) ControlSocketPath() string { return b.socketPath(ControlSockFile) }

// QMPSocketPath is where the QEMU backend's monitor listens.
func (b Bundle) QMPSocketPath() string { return b.socketPath(QMPSockFile) }

// SpiceSocketPath is where the QEMU backend's SPICE server (the VM's screen,
// input and clipboard for the viewer window) listens. The viewer is given
// it inside a URI, which cannot carry every path (the space in "Work
// Desktop", say): such a path falls back to the short runtime dir too.
func (b Bundle) SpiceSocketPath() string {
	p := b.socketPath(SpiceSockFile)
	if strings.IndexFunc(p, notURISafe) >= 0 {
		return b.shortSocketPath(SpiceSockFile)
	}
	return p
}

// notURISafe: r cannot stand for itself in a URI's path.
func notURISafe(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-~", r))
}

func (b Bundle) socketPath(name string) string {
	p := b.runPath(name)
	if len(p) <= maxSocketPath {
		return p
	}
	return b.shortSocketPath(name)
}

// shortSocketPath is name's socket under ShortRuntimeDir, derived from the
// VM directory so every process computes the same one.
func (b Bundle) shortSocketPath(name string) string {
	sum := sha256.Sum256([]byte(b.Dir + "\x00" + name))
	return filepath.Join(ShortRuntimeDir(), hex.EncodeToString(sum[:8])+".sock")
}

// ShortRuntimeDir is the fallback directory for sockets whose natural path
// is too long.
func ShortRuntimeDir() string {
	return filepath.Join("/tmp", fmt.Sprintf("vivarium-%d", os.Getuid()))
}

// EnsureRunDir creates run/ with mode 0700 (and the short runtime dir when
// sockets need it), fixing the mode if it was loosened.
func (b Bundle) EnsureRunDir() error {
	for _, dir := range []string{b.RunDir(), filepath.Dir(b.ControlSocketPath()), filepath.Dir(b.SpiceSocketPath())} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	return nil
}

// PortableFile is one file of a VM that travels with it (export, push,
// snapshot, clone): its name inside the VM directory and what it is.
type PortableFile struct {
	Name string
	Kind PortableKind
}

// PortableKind says what a portable file is for.
type PortableKind string

// Kinds of portable files.
const (
	PortableConfig        PortableKind = "config"
	PortableDisk          PortableKind = "disk"
	PortableEFIVars       PortableKind = "efi-vars"
	PortableAux           PortableKind = "aux"            // macOS guests' auxiliary storage (NVRAM)
	PortableHardwareModel PortableKind = "hardware-model" // macOS guests' identity
	PortableMachineID     PortableKind = "machine-id"     // macOS guests' identity
	PortableKernel        PortableKind = "kernel"         // a Linux kernel kept in the VM's folder
	PortableInitrd        PortableKind = "initrd"
)

// PortableFiles lists the files that make up the VM c in b, as they are on
// disk now: config.toml, every disk of c, and the EFI variable store and
// macOS identity files and the kernel and initrd kept in the folder that
// exist. Run state (run/, a saved state,
// thumbnails, snapshots) is not portable. It is the one list every feature
// that moves or copies a VM uses.
func (b Bundle) PortableFiles(c *Config) ([]PortableFile, error) {
	files := []PortableFile{{Name: ConfigFile, Kind: PortableConfig}}
	for i, d := range c.Disks {
		if _, err := os.Stat(b.DiskPath(d.File)); err != nil {
			return nil, fmt.Errorf("disks[%d] %s: %w", i, d.File, err)
		}
		files = append(files, PortableFile{Name: d.File, Kind: PortableDisk})
	}
	for _, f := range []PortableFile{
		{EFIVarsFile, PortableEFIVars}, {AuxFile, PortableAux},
		{HardwareFile, PortableHardwareModel}, {MachineIDFile, PortableMachineID},
		{KernelFile, PortableKernel}, {InitrdFile, PortableInitrd},
	} {
		if _, err := os.Stat(b.path(f.Name)); err == nil {
			files = append(files, f)
		} else if !os.IsNotExist(err) {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return files, nil
}
