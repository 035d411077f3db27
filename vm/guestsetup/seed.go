package guestsetup

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"
)

// SeedLabel is the volume label cloud-init's NoCloud datasource looks for.
const SeedLabel = "cidata"

// Seed file names, as cloud-init's NoCloud datasource reads them.
const (
	UserDataFile      = "user-data"
	MetaDataFile      = "meta-data"
	NetworkConfigFile = "network-config"
)

// WriteSeed writes files as an ISO 9660 image labelled "cidata", with Rock
// Ridge names so "user-data" keeps its lower case and its dash, the way
// Lima makes its seed. The image is built beside path and renamed into
// place: a crash leaves the old seed or none, never half of one.
func WriteSeed(path string, files map[string][]byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".seed-*.iso")
	if err != nil {
		return fmt.Errorf("cloud-init seed: %w", err)
	}
	defer func() {
		tmp.Close()
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	work, err := os.MkdirTemp(dir, ".seed-work-")
	if err != nil {
		return fmt.Errorf("cloud-init seed: %w", err)
	}
	defer os.RemoveAll(work)

	fs, err := iso9660.Create(file.New(tmp, false), 0, 0, 0, work)
	if err != nil {
		return fmt.Errorf("cloud-init seed: %w", err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := fs.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			return fmt.Errorf("cloud-init seed %s: %w", name, err)
		}
		if _, err := f.Write(files[name]); err != nil {
			return fmt.Errorf("cloud-init seed %s: %w", name, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("cloud-init seed %s: %w", name, err)
		}
	}
	if err := fs.Finalize(iso9660.FinalizeOptions{RockRidge: true, VolumeIdentifier: SeedLabel}); err != nil {
		return fmt.Errorf("cloud-init seed: %w", err)
	}
	// It holds the guest's SSH host key: readable by this user only.
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("cloud-init seed: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cloud-init seed: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cloud-init seed: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cloud-init seed: %w", err)
	}
	return nil
}
