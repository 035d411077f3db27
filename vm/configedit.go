package vm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
)

// Revision identifies one text of a VM's config.toml. An editor remembers
// the revision it showed; saving with it refuses to overwrite a change made
// since (EditIfUnchanged, SaveRaw).
type Revision string

// RevisionOf is the revision of config.toml text.
func RevisionOf(data []byte) Revision { return revisionOfSum(sha256.Sum256(data)) }

func revisionOfSum(sum [sha256.Size]byte) Revision { return Revision(hex.EncodeToString(sum[:12])) }

// Edit changes a VM's config through fn and saves it atomically if the
// result is valid. A running VM keeps running; the change applies at its
// next start (Info.State says whether that is so). A config.toml that
// cannot be read is left as it is and the error names what is wrong in it.
func (l *Library) Edit(ctx context.Context, name string, fn func(*Config) error) (*Info, error) {
	return l.EditIfUnchanged(ctx, name, "", fn)
}

// EditIfUnchanged is Edit for an editor that showed the config at revision
// base: when config.toml is no longer that text, nothing is written and the
// error wraps ErrConfigChanged. An empty base edits whatever is there now.
func (l *Library) EditIfUnchanged(ctx context.Context, name string, base Revision, fn func(*Config) error) (*Info, error) {
	b, err := l.existing(name)
	if err != nil {
		return nil, err
	}
	err = l.changeConfig(ctx, b, base, func(old []byte) (*Config, []byte, error) {
		c, err := ParseConfig(old)
		if err != nil {
			return nil, nil, fmt.Errorf("%q: nothing was changed, because its config.toml has a problem: %w; fix it with 'vivarium edit %q'", b.Name(), err, b.Name())
		}
		c.Name = b.Name() // the folder's name is the VM's name
		if err := fn(c); err != nil {
			return nil, nil, err
		}
		c.Name = b.Name()
		c.FillDefaults()
		if err := c.Validate(); err != nil {
			return nil, nil, err
		}
		return c, c.Encode(), nil
	})
	if err != nil {
		return nil, err
	}
	return l.Inspect(ctx, name)
}

// SaveRaw replaces a VM's config with text a person edited, if it parses
// and config.toml is still at revision base (the text they started from;
// empty to replace whatever is there).
func (l *Library) SaveRaw(ctx context.Context, name string, data []byte, base Revision) (*Info, error) {
	b, err := l.existing(name)
	if err != nil {
		return nil, err
	}
	err = l.changeConfig(ctx, b, base, func([]byte) (*Config, []byte, error) {
		c, err := ParseConfig(data)
		if err != nil {
			return nil, nil, err
		}
		if c.Name != b.Name() {
			return nil, nil, FieldErrors{{Key: "name", Msg: fmt.Sprintf("is %q but the VM is %q; rename it with 'vivarium rename'", c.Name, b.Name())}}
		}
		return c, data, nil
	})
	if err != nil {
		return nil, err
	}
	return l.Inspect(ctx, name)
}

// changeConfig is every read-modify-write of a VM's config.toml: under the
// VM's config lock it reads the file, refuses when it is no longer at base,
// asks change for the new config and its text, checks that every disk it
// adds is in the VM's folder, and writes the text atomically.
func (l *Library) changeConfig(ctx context.Context, b Bundle, base Revision, change func(old []byte) (*Config, []byte, error)) error {
	lock, err := b.LockConfig(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	old, err := os.ReadFile(b.ConfigPath())
	if err != nil {
		if _, statErr := os.Stat(b.Dir); errors.Is(statErr, fs.ErrNotExist) {
			// Renamed or deleted while this waited for the lock.
			return fmt.Errorf("%q: %w; see the VMs with 'vivarium list'", b.Name(), ErrNotFound)
		}
		return fmt.Errorf("%q: %w", b.Name(), err)
	}
	if base != "" && RevisionOf(old) != base {
		return fmt.Errorf("%q: %w (in another window, on the command line or in a text editor); reload them to keep that change", b.Name(), ErrConfigChanged)
	}
	c, data, err := change(old)
	if err != nil {
		return err
	}
	if err := checkNewDisks(b, old, c); err != nil {
		return err
	}
	return WriteFileAtomic(b.ConfigPath(), data, 0o644)
}

// checkNewDisks refuses a config that lists a disk the old one did not,
// when its image is not in the VM's folder: the VM could not start.
func checkNewDisks(b Bundle, old []byte, c *Config) error {
	var had []string
	if prev, err := ParseConfig(old); err == nil {
		for _, d := range prev.Disks {
			had = append(had, d.File)
		}
	}
	var errs FieldErrors
	for i, d := range c.Disks {
		if slices.Contains(had, d.File) {
			continue
		}
		if _, err := os.Stat(b.DiskPath(d.File)); err != nil {
			errs = append(errs, &FieldError{Key: fmt.Sprintf("disks[%d].file", i),
				Msg: fmt.Sprintf("%q is not in the VM's folder (%s); put the image there first, or remove the disk", d.File, b.Dir)})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// MergeConfig is theirs with the changes mine made to base: each setting
// mine changed takes mine's value, every other one keeps theirs. A list
// (the disks, the shares) counts as one setting. An editor that opened base
// and finds the file changed to theirs offers this, so neither side's
// change is lost.
func MergeConfig(base, mine, theirs *Config) *Config {
	out := theirs.Clone()
	mergeValue(reflect.ValueOf(base).Elem(), reflect.ValueOf(mine).Elem(), reflect.ValueOf(out).Elem())
	return out.Clone()
}

func mergeValue(base, mine, out reflect.Value) {
	if base.Kind() == reflect.Struct && base.Type() != sizeType {
		for i := 0; i < base.NumField(); i++ {
			mergeValue(base.Field(i), mine.Field(i), out.Field(i))
		}
		return
	}
	if !reflect.DeepEqual(base.Interface(), mine.Interface()) {
		out.Set(mine)
	}
}
