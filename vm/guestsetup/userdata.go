package guestsetup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"gopkg.in/yaml.v3"
)

// cloudConfig is the part of cloud-init's #cloud-config that guest setup
// uses (https://cloudinit.readthedocs.io/en/latest/reference/modules.html).
type cloudConfig struct {
	Hostname         string            `yaml:"hostname"`
	PreserveHostname bool              `yaml:"preserve_hostname"`
	ManageEtcHosts   bool              `yaml:"manage_etc_hosts"`
	Locale           string            `yaml:"locale"`
	Users            []cloudUser       `yaml:"users"`
	SSHDeleteKeys    bool              `yaml:"ssh_deletekeys"`
	SSHKeys          map[string]string `yaml:"ssh_keys"`
	WriteFiles       []cloudFile       `yaml:"write_files"`
	RunCmd           [][]string        `yaml:"runcmd"`
}

type cloudUser struct {
	Name              string   `yaml:"name"`
	Gecos             string   `yaml:"gecos"`
	Shell             string   `yaml:"shell"`
	Sudo              string   `yaml:"sudo"`
	LockPasswd        bool     `yaml:"lock_passwd"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
}

type cloudFile struct {
	Path        string `yaml:"path"`
	Permissions string `yaml:"permissions"`
	Content     string `yaml:"content"`
}

// UserData is the seed's user-data: cloud-init's own modules make the
// user with the SSH key, the hostname and the SSH host key; the rest is
// Configure, written to ConfigureScript and run once.
func (p *Plan) UserData() []byte {
	cc := cloudConfig{
		Hostname:         p.Hostname,
		PreserveHostname: false,
		ManageEtcHosts:   true,
		// "false": the guest keeps its own locale (cloud-init would set
		// en_US.UTF-8, and fail where it is not generated). The schema
		// wants a string; cloud-init reads "false" as off.
		Locale: "false",
		Users: []cloudUser{{
			Name:  p.Person.User,
			Gecos: p.Person.User,
			Shell: "/bin/bash",
			// The user has no password (lock_passwd); sudo must not ask
			// for one. Set one with sudo passwd to log in at the screen.
			Sudo:              "ALL=(ALL) NOPASSWD:ALL",
			LockPasswd:        true,
			SSHAuthorizedKeys: []string{p.Person.AuthorizedKey},
		}},
		// Replace the image's host keys by the one Vivarium knows.
		SSHDeleteKeys: true,
		SSHKeys: map[string]string{
			"ed25519_private": p.HostKey.Private,
			"ed25519_public":  p.HostKey.Public,
		},
		WriteFiles: []cloudFile{{Path: ConfigureScript, Permissions: "0755", Content: p.Configure()}},
		RunCmd:     [][]string{{ConfigureScript}},
	}
	out, err := yaml.Marshal(cc)
	if err != nil {
		// Plain strings, bools and lists always marshal.
		panic(fmt.Sprintf("guest setup user-data: %v", err))
	}
	header := "#cloud-config\n# Vivarium guest setup for the VM " + p.VMName + ".\n"
	return append([]byte(header), out...)
}

// InstanceID names this seed for cloud-init: it changes whenever the setup
// does, so a changed setup (a new share, another key) runs again at the
// next boot, and an unchanged one never runs twice.
func (p *Plan) InstanceID() string {
	sum := sha256.Sum256(p.UserData())
	return "vivarium-" + hex.EncodeToString(sum[:8])
}

// MetaData is the seed's meta-data.
func (p *Plan) MetaData() []byte {
	out, err := yaml.Marshal(map[string]string{"instance-id": p.InstanceID(), "local-hostname": p.Hostname})
	if err != nil {
		panic(fmt.Sprintf("guest setup meta-data: %v", err))
	}
	return out
}

// SeedFiles are the files of the cidata seed.
func (p *Plan) SeedFiles() map[string][]byte {
	return map[string][]byte{UserDataFile: p.UserData(), MetaDataFile: p.MetaData()}
}
