package vm

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomicAndCommitFileReplaceWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "thumbnail.png")
	if err := WriteFileAtomic(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	// Another writer (QEMU, the framework) fills a file beside it.
	tmp := filepath.Join(dir, ".thumbnail.png.partial")
	if err := os.WriteFile(tmp, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CommitFile(tmp, path); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Errorf("after CommitFile: %q", got)
	}
	if err := CommitFile(tmp, path); err == nil {
		t.Error("committing a file that is not there succeeded")
	}
	if got, _ := os.ReadFile(path); string(got) != "new" {
		t.Errorf("a failed commit changed the file: %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left temporary files: %v", entries)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "no", "such", "dir"), nil, 0o644); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
}

func TestIsBundleName(t *testing.T) {
	for name, want := range map[string]bool{
		"demo.vm": true, "Ubuntu 24.04.vm": true, ".vm": false, ".creating-123": false, ".deleting-ab.vm": false,
		"demo": false, "demo.vm.tmp": false, "notes.txt": false,
	} {
		if got := IsBundleName(name); got != want {
			t.Errorf("IsBundleName(%q) = %v, want %v", name, got, want)
		}
	}
}
