package guestsetup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vivarium-vm/vivarium/vm"
)

var testPerson = Person{User: "ana", AuthorizedKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBk ana@laptop"}

func testHostKey() HostKey {
	return HostKey{
		Private: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n",
		Public:  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost vivarium-guest",
	}
}

func qemuDesktop() *vm.Config {
	c := vm.NewConfig("My Desktop", vm.OSLinux)
	c.Backend, c.Arch = vm.BackendQEMU, vm.ArchAMD64
	c.Clipboard = true
	c.Shares = []vm.Share{{Path: "/home/ana/src", Tag: "src"}, {Path: "/home/ana/music", Tag: "music", ReadOnly: true}}
	return c
}

func vzRosetta() *vm.Config {
	c := vm.NewConfig("arm", vm.OSLinux)
	c.Backend, c.Arch, c.Rosetta = vm.BackendVZ, vm.ArchARM64, true
	c.Shares = []vm.Share{{Path: "/Users/ana/src", Tag: "src"}}
	return c
}

func TestNewPlan(t *testing.T) {
	tests := []struct {
		name        string
		config      *vm.Config
		wantHost    string
		wantMounts  []string
		wantFiles   []string
		wantNoFiles []string
		spice       bool
		rosetta     bool
		wantNote    string
	}{
		{
			name: "qemu: 9p shares, clipboard", config: qemuDesktop(), wantHost: "my-desktop",
			wantMounts: []string{
				"src /mnt/src 9p rw,nofail,trans=virtio,version=9p2000.L,msize=262144 0 0",
				"music /mnt/music 9p ro,nofail,trans=virtio,version=9p2000.L,msize=262144 0 0",
			},
			wantFiles: []string{"/etc/default/spice-vdagentd", "/etc/sysconfig/spice-vdagentd", "/etc/modules-load.d/vivarium.conf"},
			spice:     true,
		},
		{
			name: "vz: virtiofs share, rosetta before systemd-binfmt", config: vzRosetta(), wantHost: "arm",
			wantMounts: []string{
				"src /mnt/src virtiofs rw,nofail 0 0",
				"rosetta /media/rosetta virtiofs ro,nofail,x-systemd.before=systemd-binfmt.service 0 0",
			},
			wantFiles:   []string{"/etc/binfmt.d/rosetta.conf"},
			wantNoFiles: []string{"/etc/default/spice-vdagentd", "/etc/modules-load.d/vivarium.conf"},
			rosetta:     true,
			wantNote:    "clipboard is off",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.config.Validate(); err != nil {
				t.Fatalf("the case's config is invalid: %v", err)
			}
			p, err := NewPlan(tt.config, testPerson, testHostKey())
			if err != nil {
				t.Fatal(err)
			}
			if p.Hostname != tt.wantHost {
				t.Errorf("hostname %q, want %q", p.Hostname, tt.wantHost)
			}
			var lines []string
			for _, m := range p.Mounts {
				lines = append(lines, m.Line())
			}
			if strings.Join(lines, "\n") != strings.Join(tt.wantMounts, "\n") {
				t.Errorf("fstab lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(tt.wantMounts, "\n"))
			}
			files := map[string]File{}
			for _, f := range p.Files {
				files[f.Path] = f
			}
			for _, f := range tt.wantFiles {
				if _, ok := files[f]; !ok {
					t.Errorf("the setup writes no %s", f)
				}
			}
			for _, f := range tt.wantNoFiles {
				if _, ok := files[f]; ok {
					t.Errorf("the setup writes %s, which this VM does not need", f)
				}
			}
			if p.SPICE != tt.spice || p.Rosetta != tt.rosetta {
				t.Errorf("SPICE %v Rosetta %v, want %v %v", p.SPICE, p.Rosetta, tt.spice, tt.rosetta)
			}
			if tt.spice && !strings.Contains(files["/etc/default/spice-vdagentd"].Content, "SPICE_VDAGENTD_EXTRA_ARGS=-X") {
				t.Errorf("spice-vdagentd is not started with -X, so it needs a login session")
			}
			if tt.rosetta {
				rule := files["/etc/binfmt.d/rosetta.conf"].Content
				if !strings.Contains(rule, ":rosetta:M::\\x7fELF\\x02\\x01\\x01") || !strings.HasSuffix(strings.TrimSpace(rule), ":/media/rosetta/rosetta:OCF") {
					t.Errorf("rosetta binfmt rule:\n%s", rule)
				}
			}
			if tt.wantNote != "" && !strings.Contains(strings.Join(p.Notes, "\n"), tt.wantNote) {
				t.Errorf("notes %q lack %q", p.Notes, tt.wantNote)
			}
		})
	}
}

func TestNewPlanRefuses(t *testing.T) {
	mac := vm.NewConfig("mac", vm.OSMacOS)
	other := vm.NewConfig("bsd", vm.OSOther)
	tests := []struct {
		name   string
		config *vm.Config
		person Person
		want   string
	}{
		{"macOS guest", mac, testPerson, "My Shared Files"},
		{"other OS", other, testPerson, `os = "linux"`},
		{"root", qemuDesktop(), Person{User: "root", AuthorizedKey: testPerson.AuthorizedKey}, "ordinary user"},
		{"capitals and spaces", qemuDesktop(), Person{User: "Ana Lopez", AuthorizedKey: testPerson.AuthorizedKey}, "not a Linux login name"},
		{"no user", qemuDesktop(), Person{AuthorizedKey: testPerson.AuthorizedKey}, "user name is empty"},
		{"two-line key", qemuDesktop(), Person{User: "ana", AuthorizedKey: "ssh-ed25519 A\nssh-rsa B"}, "one line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPlan(tt.config, tt.person, testHostKey())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewPlan error = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestHostname(t *testing.T) {
	for in, want := range map[string]string{
		"demo": "demo", "My Desktop": "my-desktop", "Debian 12 (arm)": "debian-12-arm",
		"ünïcode": "n-code", "---": "vivarium-guest", strings.Repeat("a", 80): strings.Repeat("a", 63),
	} {
		if got := Hostname(in); got != want {
			t.Errorf("Hostname(%q) = %q, want %q", in, got, want)
		}
	}
}

// The user-data is checked by cloud-init itself (its schema), then read as
// YAML for what the guest will do with it.
func TestUserDataIsValidCloudConfig(t *testing.T) {
	cloudInit := needTool(t, "cloud-init")
	p, err := NewPlan(qemuDesktop(), testPerson, testHostKey())
	if err != nil {
		t.Fatal(err)
	}
	ud := p.UserData()
	if !strings.HasPrefix(string(ud), "#cloud-config\n") {
		t.Fatalf("user-data does not start with #cloud-config:\n%s", ud)
	}
	path := filepath.Join(t.TempDir(), "user-data")
	if err := os.WriteFile(path, ud, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(cloudInit, "schema", "--config-file", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Valid cloud-config") {
		t.Fatalf("cloud-init schema refuses the user-data: %v\n%s\n%s", err, out, ud)
	}

	var cc struct {
		Hostname string `yaml:"hostname"`
		Users    []struct {
			Name string   `yaml:"name"`
			Keys []string `yaml:"ssh_authorized_keys"`
			Sudo string   `yaml:"sudo"`
		} `yaml:"users"`
		SSHKeys    map[string]string `yaml:"ssh_keys"`
		WriteFiles []struct {
			Path, Content, Permissions string
		} `yaml:"write_files"`
		RunCmd [][]string `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal(ud, &cc); err != nil {
		t.Fatal(err)
	}
	if cc.Hostname != "my-desktop" {
		t.Errorf("hostname %q", cc.Hostname)
	}
	if len(cc.Users) != 1 || cc.Users[0].Name != "ana" || len(cc.Users[0].Keys) != 1 || cc.Users[0].Keys[0] != testPerson.AuthorizedKey {
		t.Errorf("users = %+v, want ana with her key", cc.Users)
	}
	if cc.SSHKeys["ed25519_private"] != testHostKey().Private || cc.SSHKeys["ed25519_public"] != testHostKey().Public {
		t.Errorf("ssh host keys = %+v", cc.SSHKeys)
	}
	if len(cc.WriteFiles) != 1 || cc.WriteFiles[0].Path != ConfigureScript || cc.WriteFiles[0].Content != p.Configure() {
		t.Errorf("write_files does not carry the configure script: %+v", cc.WriteFiles)
	}
	if len(cc.RunCmd) != 1 || cc.RunCmd[0][0] != ConfigureScript {
		t.Errorf("runcmd = %q", cc.RunCmd)
	}
	md := string(p.MetaData())
	if !strings.Contains(md, "instance-id: "+p.InstanceID()) || !strings.Contains(md, "local-hostname: my-desktop") {
		t.Errorf("meta-data:\n%s", md)
	}

	// A changed setup is a new instance, so cloud-init applies it again;
	// the same setup is the same instance, so it never runs twice.
	again, _ := NewPlan(qemuDesktop(), testPerson, testHostKey())
	if again.InstanceID() != p.InstanceID() {
		t.Errorf("the same setup got two instance ids")
	}
	c := qemuDesktop()
	c.Shares = c.Shares[:1]
	changed, _ := NewPlan(c, testPerson, testHostKey())
	if changed.InstanceID() == p.InstanceID() {
		t.Errorf("removing a share kept the instance id, so the guest would not apply it")
	}
}

// Both scripts are checked by the shell itself, and carry every step.
func TestScripts(t *testing.T) {
	sh := needTool(t, "sh")
	for _, c := range []*vm.Config{qemuDesktop(), vzRosetta()} {
		p, err := NewPlan(c, testPerson, testHostKey())
		if err != nil {
			t.Fatal(err)
		}
		for name, text := range map[string]string{"script": p.Script(), "configure": p.Configure()} {
			path := filepath.Join(t.TempDir(), name+".sh")
			if err := os.WriteFile(path, []byte(text), 0o700); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(sh, "-n", path).CombinedOutput(); err != nil {
				t.Errorf("%s %s: sh -n: %v\n%s\n%s", c.Name, name, err, out, text)
			}
			for _, m := range p.Mounts {
				if !strings.Contains(text, shellQuote(m.Line())) {
					t.Errorf("%s %s lacks the fstab line %q", c.Name, name, m.Line())
				}
			}
		}
		script := p.Script()
		for _, want := range []string{
			"hostnamectl set-hostname " + p.Hostname,
			"useradd -m -s /bin/bash ana",
			shellQuote(testPerson.AuthorizedKey),
			testHostKey().Private,
			"/etc/ssh/ssh_host_ed25519_key",
		} {
			if !strings.Contains(script, want) {
				t.Errorf("%s: the script lacks %q", c.Name, want)
			}
		}
		if strings.Contains(p.Configure(), "useradd") {
			t.Errorf("%s: the configure script makes the user; cloud-init does that", c.Name)
		}
	}
}

func TestShellQuote(t *testing.T) {
	sh := needTool(t, "sh")
	for _, s := range []string{"plain", "it's", "$(rm -rf /)", "a b\tc", "`x`", `\x7fELF`, "", "tag;reboot"} {
		out, err := exec.Command(sh, "-c", "printf '%s' "+shellQuote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("shellQuote(%q) = %s; the shell reads it as %q (%v)", s, shellQuote(s), out, err)
		}
	}
}

func TestFindOrMakeKey(t *testing.T) {
	needTool(t, "ssh-keygen")
	ctx := context.Background()
	home, keyDir := t.TempDir(), filepath.Join(t.TempDir(), ".ssh")

	made, err := FindOrMakeKey(ctx, home, keyDir)
	if err != nil {
		t.Fatal(err)
	}
	if made.Path != filepath.Join(keyDir, "id_ed25519") || !strings.HasPrefix(made.Public, "ssh-ed25519 ") {
		t.Fatalf("without a key of their own, the person got %+v", made)
	}
	if st, err := os.Stat(made.Path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("Vivarium's private key: %v %v, want mode 0600", st.Mode(), err)
	}
	again, err := FindOrMakeKey(ctx, home, keyDir)
	if err != nil || again != made {
		t.Errorf("a second call made another key: %+v, %v", again, err)
	}

	// A key of their own wins: ed25519 before RSA.
	ssh := filepath.Join(home, ".ssh")
	os.MkdirAll(ssh, 0o700)
	for _, name := range []string{"id_rsa", "id_ed25519"} {
		os.WriteFile(filepath.Join(ssh, name), []byte("private"), 0o600)
		os.WriteFile(filepath.Join(ssh, name+".pub"), []byte("ssh-x "+name+" ana@laptop\n"), 0o644)
	}
	own, err := FindOrMakeKey(ctx, home, keyDir)
	if err != nil {
		t.Fatal(err)
	}
	if own.Path != filepath.Join(ssh, "id_ed25519") || own.Public != "ssh-x id_ed25519 ana@laptop" {
		t.Errorf("the person's key is %+v, want ~/.ssh/id_ed25519", own)
	}
}

func TestMakeHostKey(t *testing.T) {
	needTool(t, "ssh-keygen")
	a, err := MakeHostKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := MakeHostKey(context.Background())
	if !strings.Contains(a.Private, "BEGIN OPENSSH PRIVATE KEY") || !strings.HasPrefix(a.Public, "ssh-ed25519 ") {
		t.Errorf("host key = %+v", a)
	}
	if a.Public == b.Public {
		t.Errorf("two guests got the same host key")
	}
}
