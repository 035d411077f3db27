package guestsetup

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needTool returns a host tool that reads our output independently;
// scripts/deps.sh installs them all, so a missing one is a failure.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed; scripts/deps.sh installs it", name)
	}
	return p
}

// The seed must be what cloud-init's NoCloud finds: an ISO 9660 volume
// labelled "cidata" whose files keep their lower-case, dashed names. Read
// back by blkid and isoinfo, not by the library that wrote it.
func TestWriteSeedIsANoCloudVolume(t *testing.T) {
	blkid, isoinfo := needTool(t, "blkid"), needTool(t, "isoinfo")
	dir := t.TempDir()
	path := filepath.Join(dir, "cidata.iso")
	files := map[string][]byte{
		UserDataFile: []byte("#cloud-config\nhostname: cloudy\n"),
		MetaDataFile: []byte("instance-id: vivarium-1\nlocal-hostname: cloudy\n"),
	}
	if err := os.WriteFile(path, []byte("the old seed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteSeed(path, files); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(blkid, "-o", "export", path).CombinedOutput()
	if err != nil {
		t.Fatalf("blkid: %v: %s", err, out)
	}
	for _, want := range []string{"LABEL=cidata", "TYPE=iso9660"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("blkid sees no %s:\n%s", want, out)
		}
	}
	list, err := exec.Command(isoinfo, "-R", "-f", "-i", path).CombinedOutput()
	if err != nil {
		t.Fatalf("isoinfo: %v: %s", err, list)
	}
	if got := strings.Fields(string(list)); strings.Join(got, " ") != "/meta-data /user-data" {
		t.Errorf("files on the seed = %q, want /meta-data /user-data", got)
	}
	for name, want := range files {
		got, err := exec.Command(isoinfo, "-R", "-i", path, "-x", "/"+name).Output()
		if err != nil {
			t.Fatalf("isoinfo -x /%s: %v", name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s on the seed = %q, want %q", name, got, want)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("seed mode %v; it holds the guest's host key, want 0600", st.Mode().Perm())
	}
	if st.Size() > 1<<20 {
		t.Errorf("seed is %d bytes; a seed is small", st.Size())
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 {
		t.Errorf("the seed's folder holds %d entries after writing, want only the seed: %v", len(left), left)
	}
}

func TestWriteSeedFailureKeepsOldSeed(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cidata.iso")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A file in a folder the seed does not have makes the write fail half-way.
	err := WriteSeed(path, map[string][]byte{"user-data": []byte("x"), "no-such-folder/x": []byte("x")})
	if err == nil {
		t.Fatal("writing a file into a folder the seed lacks succeeded")
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("a failed write changed the old seed to %q", got)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 {
		t.Errorf("a failed write left %d entries: %v", len(left), left)
	}
}
