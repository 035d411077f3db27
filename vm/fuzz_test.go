package vm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// outsideFiles lists every path under dir except the library root itself
// and what is inside it: anything listed was written outside the library.
func outsideFiles(t *testing.T, dir, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if p == root {
			return filepath.SkipDir
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkNameRefusal fails unless err is a refusal a person can act on: it
// says the name is invalid or taken, never a raw system error.
func checkNameRefusal(t *testing.T, op, name string, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalidName) && !errors.Is(err, ErrInvalidConfig) && !errors.Is(err, ErrExists) {
		t.Fatalf("%s %q: %v: want an invalid-name or name-taken error", op, name, err)
	}
	if strings.ContainsRune(err.Error(), 0) {
		t.Errorf("%s %q: the error message carries a NUL byte: %q", op, name, err)
	}
	if len(err.Error()) > 500 {
		t.Errorf("%s of a %d-byte name: the error is %d bytes; it must shorten the name", op, len(name), len(err.Error()))
	}
}

// FuzzVMName feeds names a person or a script might type (dots, slashes,
// NUL, right-to-left marks, 10KB names) through Create and Rename: each is
// a VM directly in the library or a clear refusal, never a panic and never
// a file outside the library.
func FuzzVMName(f *testing.F) {
	// The hostile names are the committed corpus, testdata/fuzz/FuzzVMName.
	f.Add("demo", "demo 2")
	f.Add("Ubuntu 24.04 (ARM) ü", "Ubuntu")
	f.Fuzz(func(t *testing.T, name, newName string) {
		ctx := context.Background()
		dir := t.TempDir()
		root := filepath.Join(dir, "library")
		lib, err := OpenLibrary(root)
		if err != nil {
			t.Fatal(err)
		}
		c := NewConfig(name, OSLinux)
		c.Disks = []Disk{{Size: MiB}}
		info, err := lib.Create(ctx, c, CreateOptions{})
		if err != nil {
			checkNameRefusal(t, "create", name, err)
			if ValidateName(name) == nil {
				t.Fatalf("create %q refused a name ValidateName accepts: %v", name, err)
			}
		} else {
			if filepath.Dir(info.Dir) != root || info.Name != name {
				t.Fatalf("create %q made %s named %q, not a VM directly in %s", name, info.Dir, info.Name, root)
			}
			list, err := lib.List(ctx)
			if err != nil || len(list) != 1 || list[0].Name != name || list[0].Err != nil {
				t.Fatalf("after creating %q the library lists %+v (%v)", name, list, err)
			}
			renamed, err := lib.Rename(ctx, name, newName)
			switch {
			case err != nil:
				checkNameRefusal(t, "rename", newName, err)
				if _, err := lib.Inspect(ctx, name); err != nil {
					t.Errorf("a refused rename to %q lost the VM: %v", newName, err)
				}
			case filepath.Dir(renamed.Dir) != root || renamed.Name != newName || renamed.Config == nil || renamed.Config.Name != newName:
				t.Fatalf("rename to %q made %s named %q", newName, renamed.Dir, renamed.Name)
			}
		}
		if out := outsideFiles(t, dir, root); len(out) > 0 {
			t.Fatalf("create %q / rename %q wrote outside the library: %v", name, newName, out)
		}
	})
}

// FuzzSharePath feeds share paths (relative, missing, a file, a symlink to
// /, NUL, long) through Validate and CheckPaths: each is accepted only when
// it names an existing folder by its full path, and every refusal names the
// share's key.
func FuzzSharePath(f *testing.F) {
	// The hostile paths are the committed corpus, testdata/fuzz/FuzzSharePath;
	// {tmp} stands for a folder holding dir, file, root-link (a symlink to /)
	// and dangling-link.
	f.Add("{tmp}/dir", false)
	f.Add("{tmp}/dir", true)
	f.Fuzz(func(t *testing.T, path string, readOnly bool) {
		tmp := t.TempDir()
		if err := os.Mkdir(filepath.Join(tmp, "dir"), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Mkdir(filepath.Join(tmp, "dir with spaces"), 0o755)
		os.WriteFile(filepath.Join(tmp, "file"), []byte("x"), 0o644)
		os.Symlink("/", filepath.Join(tmp, "root-link"))
		os.Symlink(filepath.Join(tmp, "gone"), filepath.Join(tmp, "dangling-link"))
		path = strings.ReplaceAll(path, "{tmp}", tmp)

		c := NewConfig("shares", OSLinux)
		c.Shares = []Share{{Path: path, ReadOnly: readOnly}}
		c.FillDefaults()
		errV := c.Validate()
		errP := c.CheckPaths()
		for _, err := range []error{errV, errP} {
			if err == nil {
				continue
			}
			var fes FieldErrors
			if !errors.As(err, &fes) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("share %q: %v is not a config error naming a key", path, err)
			}
			for _, fe := range fes {
				if !strings.HasPrefix(fe.Key, "shares[0]") {
					t.Errorf("share %q: the error is about %q, not the share: %v", path, fe.Key, fe)
				}
			}
		}
		if errV == nil && errP == nil {
			if !filepath.IsAbs(path) {
				t.Fatalf("relative share path %q accepted", path)
			}
			st, err := os.Stat(path)
			if err != nil || !st.IsDir() {
				t.Fatalf("share %q accepted but it is not a folder (%v)", path, err)
			}
			if _, err := ParseConfig(c.Encode()); err != nil {
				t.Fatalf("share %q accepted but its config.toml is refused: %v", path, err)
			}
		}
	})
}
