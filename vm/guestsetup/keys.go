package guestsetup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Key is an SSH key pair on the host.
type Key struct {
	Path   string // the private key file, for ssh -i
	Public string // its public key line
}

// personalKeyNames are the keys in ~/.ssh a person's ssh uses by default,
// in the order guest setup prefers them.
func personalKeyNames() []string { return []string{"id_ed25519", "id_ecdsa", "id_rsa"} }

// VivariumKeyName is the key guest setup makes in the library's key folder
// when the person has none.
const VivariumKeyName = "id_ed25519"

// FindOrMakeKey returns the person's own SSH key from home/.ssh (the first
// of id_ed25519, id_ecdsa, id_rsa with both halves), or else Vivarium's key in keyDir,
// made there with ssh-keygen the first time.
func FindOrMakeKey(ctx context.Context, home, keyDir string) (Key, error) {
	if home != "" {
		for _, name := range personalKeyNames() {
			k, err := readKey(filepath.Join(home, ".ssh", name))
			if err == nil {
				return k, nil
			}
			if !errors.Is(err, os.ErrNotExist) {
				return Key{}, err
			}
		}
	}
	path := filepath.Join(keyDir, VivariumKeyName)
	k, err := readKey(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(keyDir, 0o700); err != nil {
		return Key{}, fmt.Errorf("SSH key folder: %w", err)
	}
	if err := keygen(ctx, path, "vivarium"); err != nil {
		return Key{}, err
	}
	return readKey(path)
}

func readKey(path string) (Key, error) {
	if _, err := os.Stat(path); err != nil {
		return Key{}, err
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		return Key{}, err
	}
	line := strings.TrimSpace(string(pub))
	if line == "" || strings.Contains(line, "\n") {
		return Key{}, fmt.Errorf("%s.pub is not one public key line; fix or remove it", path)
	}
	return Key{Path: path, Public: line}, nil
}

// MakeHostKey makes a new ed25519 SSH host key for a guest.
func MakeHostKey(ctx context.Context) (HostKey, error) {
	dir, err := os.MkdirTemp("", "vivarium-hostkey-")
	if err != nil {
		return HostKey{}, fmt.Errorf("SSH host key: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := keygen(ctx, path, "vivarium-guest"); err != nil {
		return HostKey{}, err
	}
	priv, err := os.ReadFile(path)
	if err != nil {
		return HostKey{}, fmt.Errorf("SSH host key: %w", err)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		return HostKey{}, fmt.Errorf("SSH host key: %w", err)
	}
	return HostKey{Private: string(priv), Public: strings.TrimSpace(string(pub))}, nil
}

// keygen makes an ed25519 key without a passphrase at path (and path.pub).
func keygen(ctx context.Context, path, comment string) error {
	bin, err := exec.LookPath("ssh-keygen")
	if err != nil {
		return errors.New("ssh-keygen is not installed: install OpenSSH's client (Debian: apt-get install openssh-client)")
	}
	out, err := exec.CommandContext(ctx, bin, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ssh-keygen %s: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	return nil
}
