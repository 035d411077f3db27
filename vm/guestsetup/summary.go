package guestsetup

import (
	"fmt"
	"os/user"
	"strings"

	"github.com/vivarium-vm/vivarium/vm"
)

// Summary says, one line each, what the setup does in the guest.
func (p *Plan) Summary() []string {
	lines := []string{
		fmt.Sprintf("Hostname %s", p.Hostname),
		fmt.Sprintf("User %s, who logs in with your SSH key and uses sudo without a password", p.Person.User),
	}
	for _, m := range p.Mounts {
		if m.Source == vm.RosettaTag && m.Target == RosettaMount {
			continue
		}
		ro := ""
		if strings.HasPrefix(m.Options, "ro") {
			ro = ", read-only"
		}
		lines = append(lines, fmt.Sprintf("Shared folder %q at %s (%s%s), mounted at every boot", m.Source, m.Target, m.FSType, ro))
	}
	if p.SPICE {
		lines = append(lines, "SPICE agent for the shared clipboard, working without a login screen (spice-vdagentd -X)")
	}
	if p.Rosetta {
		lines = append(lines, fmt.Sprintf("Rosetta for x86_64 programs (%s, registered with binfmt at every boot)", RosettaMount))
	}
	lines = append(lines, "SSH server with a host key Vivarium knows, for 'vivarium ssh'")
	for _, n := range p.Notes {
		lines = append(lines, "Not done: "+n)
	}
	return lines
}

// Preview is the Summary of setting up c for user, before any key is made.
// A user name not chosen yet (or not valid yet) is described, not refused:
// the person is still typing it.
func Preview(c *vm.Config, user string) ([]string, error) {
	valid := ValidateUser(user) == nil
	if !valid {
		user = "preview"
	}
	p, err := NewPlan(c, Person{User: user, AuthorizedKey: "preview"}, HostKey{})
	if err != nil {
		return nil, err
	}
	lines := p.Summary()
	if !valid {
		lines[1] = "Your user (the name above), who logs in with your SSH key and uses sudo without a password"
	}
	return lines, nil
}

// Summary says what Run made and what the person does next.
func (r *Result) Summary() []string {
	var lines []string
	if r.Seed != "" {
		lines = append(lines, fmt.Sprintf("The setup is on a cloud-init seed (%s) attached to %s's next boots; restart the VM if it is running.", vm.SeedFile, r.Plan.VMName))
	} else {
		lines = append(lines, fmt.Sprintf("Run the script as root in %s (it needs no cloud-init).", r.Plan.VMName))
	}
	lines = append(lines, "Your SSH key: "+r.Key.Path)
	if r.AddedForward != "" {
		lines = append(lines, fmt.Sprintf("Added the port forward %q (network.forwards) to reach the guest's SSH server.", r.AddedForward))
	}
	lines = append(lines, "Then: vivarium ssh "+shellQuote(r.Plan.VMName))
	return lines
}

// DefaultUser is the login name this host's user gets in guests: their
// own, in lower case. It is empty when that is no good (root, or a name a
// Linux guest refuses); then the person must choose one.
func DefaultUser() string {
	u, err := user.Current()
	if err != nil {
		return ""
	}
	name := strings.ToLower(u.Username)
	if ValidateUser(name) != nil {
		return ""
	}
	return name
}
