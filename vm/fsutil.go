package vm

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to path so that a crash at any moment leaves
// either the old file or the new one: write a temporary file in the same
// directory, fsync it, rename it over path, fsync the directory. It is the
// one way Vivarium writes a file whole.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, noSpace(err))
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", path, noSpace(err))
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := renameDurably(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// PartialPath is where a file that takes a while to write (a saved state)
// is written before it is renamed to path: hidden, and never taken for a
// finished file.
func PartialPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".partial")
}

// CommitFile puts a file that another writer finished in tmp (QEMU's
// screendump, Apple's saved state, a download) in place of path, the way
// WriteFileAtomic does: fsync tmp, rename it over path, fsync the folder.
// tmp must be in path's folder. On failure tmp is left for the caller,
// which may want to keep it (a download resumes from it).
func CommitFile(tmp, path string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, noSpace(err))
	}
	return renameDurably(tmp, path)
}

// renameDurably renames tmp over path and fsyncs the folder, so the rename
// survives a crash.
func renameDurably(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return nil
}

func isDir(p string) error {
	st, err := os.Stat(p)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("%s does not exist; create the folder or remove the share", p)
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s is a file, not a folder; share its folder instead", p)
	}
	return nil
}

func isFile(p string) error {
	st, err := os.Stat(p)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("%s does not exist; check the path", p)
	case err != nil:
		return err
	case st.IsDir():
		return fmt.Errorf("%s is a folder; choose a file", p)
	}
	return nil
}
