package vm

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseForward(t *testing.T) {
	tests := []struct {
		in      string
		want    Forward
		wantErr string
	}{
		{in: "2222:22", want: Forward{ProtoTCP, "127.0.0.1", 2222, 22}},
		{in: "127.0.0.1:8080:80", want: Forward{ProtoTCP, "127.0.0.1", 8080, 80}},
		{in: "localhost:8080:80", want: Forward{ProtoTCP, "127.0.0.1", 8080, 80}},
		{in: "127.0.0.2:8080:80", want: Forward{ProtoTCP, "127.0.0.2", 8080, 80}},
		{in: "udp/5353:53", want: Forward{ProtoUDP, "127.0.0.1", 5353, 53}},
		{in: "TCP/2222:22", want: Forward{ProtoTCP, "127.0.0.1", 2222, 22}},
		{in: "0.0.0.0:2222:22", wantErr: "other computers"},
		{in: "192.168.1.5:2222:22", wantErr: "other computers"},
		{in: "::1:2222:22", wantErr: "not a forward"},
		{in: "sctp/1:2", wantErr: "not tcp or udp"},
		{in: "2222", wantErr: "HOSTPORT:GUESTPORT"},
		{in: "0:22", wantErr: "host port \"0\""},
		{in: "2222:70000", wantErr: "guest port \"70000\""},
		{in: "ssh:22", wantErr: "host port \"ssh\""},
		{in: "example.com:2222:22", wantErr: "not an IPv4 address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseForward(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseForward(%q) error = %v, want one saying %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseForward(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseForward(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			again, err := ParseForward(got.String())
			if err != nil || again != got {
				t.Errorf("%q written as %q reads back as %+v, %v", tt.in, got.String(), again, err)
			}
		})
	}
}

func TestForwardsInConfig(t *testing.T) {
	c := fullConfig()
	c.Network.Forwards = []string{"2222:22", "udp/127.0.0.1:5353:53"}
	if err := c.Validate(); err != nil {
		t.Fatalf("valid forwards refused: %v", err)
	}
	got, err := ParseConfig(c.Encode())
	if err != nil {
		t.Fatalf("re-reading: %v\n%s", err, c.Encode())
	}
	if !reflect.DeepEqual(got.Network.Forwards, c.Network.Forwards) {
		t.Errorf("forwards after a round trip = %q, want %q", got.Network.Forwards, c.Network.Forwards)
	}
	if f, ok := got.Network.ForwardTo(22); !ok || f.HostPort != 2222 {
		t.Errorf("ForwardTo(22) = %+v, %v; want host port 2222", f, ok)
	}
	if _, ok := got.Network.ForwardTo(80); ok {
		t.Errorf("ForwardTo(80) found a forward that is not there")
	}

	set, err := SetKey(c, "network.forwards", `["8080:80"]`)
	if err != nil {
		t.Fatalf("vivarium set network.forwards: %v", err)
	}
	if !reflect.DeepEqual(set.Network.Forwards, []string{"8080:80"}) {
		t.Errorf("after set, forwards = %q", set.Network.Forwards)
	}

	tests := []struct {
		name    string
		change  func(c *Config)
		key     string
		wantMsg string
	}{
		{"same host port twice", func(c *Config) { c.Network.Forwards = []string{"2222:22", "2222:80"} }, "network.forwards[1]", "own host port"},
		{"tcp and udp may share a port", func(c *Config) { c.Network.Forwards = []string{"5353:53", "udp/5353:53"} }, "", ""},
		{"open to the network", func(c *Config) { c.Network.Forwards = []string{"0.0.0.0:2222:22"} }, "network.forwards[0]", "127.0.0.1"},
		{"no NAT", func(c *Config) {
			c.Network = Network{Mode: NetNone, Forwards: []string{"2222:22"}}
		}, "network.forwards", "mode = \"nat\""},
		{"vz", func(c *Config) {
			c.Backend, c.Arch = BackendVZ, ArchARM64
			c.Network.Forwards = []string{"2222:22"}
		}, "network.forwards", "vivarium ip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fullConfig()
			tt.change(c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			fe, _ := err.(FieldErrors)
			e := fe.For(tt.key)
			if e == nil || !strings.Contains(e.Msg, tt.wantMsg) {
				t.Fatalf("Validate() = %v; want %s saying %q", err, tt.key, tt.wantMsg)
			}
		})
	}
}
