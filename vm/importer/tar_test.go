package importer_test

import "os/exec"

// execTar makes an .ova the way OVF tools do: a plain tar, .ovf first.
func execTar(dir, out string, files ...string) ([]byte, error) {
	return exec.Command("tar", append([]string{"-C", dir, "--format=ustar", "-cf", out}, files...)...).CombinedOutput()
}
