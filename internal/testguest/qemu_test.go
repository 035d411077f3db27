package testguest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bootTimeout is generous: TCG on a loaded two-core machine is ~3x slower
// than idle.
const bootTimeout = 60 * time.Second

// bootOptions are the devices a test boots the guest with.
type bootOptions struct {
	shares  []share
	actions []string
	disk    string // raw image, as virtio-blk-pci
	ports   bool   // virtio-serial with the SPICE agent port
	screen  bool   // virtio-vga instead of no display device
}

type share struct {
	tag, dir string
	readOnly bool
}

// runningGuest is one qemu-system-x86_64 process booting the test guest.
type runningGuest struct {
	console string // serial console file
	qmp     string // QMP socket
	exited  chan struct{}
	err     error // QEMU's exit, once exited is closed
	stderr  *bytes.Buffer
}

// qemuArgs is the plain QEMU command line the guest is proven against.
func qemuArgs(g Guest, dir string, o bootOptions) []string {
	var shareTags []string
	// Require has put the accelerator that really boots the guest here.
	accel := AccelChoice{Accel: os.Getenv(AccelEnv)}.QEMUAccelArgs()
	args := []string{
		"-M", "q35", "-nodefaults", accel[0], accel[1], accel[2], accel[3], "-m", "256",
		"-kernel", g.Kernel, "-initrd", g.Initrd,
		"-serial", "file:" + filepath.Join(dir, "console.log"),
		"-display", "none", "-no-reboot",
		"-qmp", "unix:" + filepath.Join(dir, "qmp.sock") + ",server=on,wait=off",
	}
	for i, s := range o.shares {
		fsdev := fmt.Sprintf("local,security_model=none,id=fs%d,path=%s", i, s.dir)
		if s.readOnly {
			fsdev += ",readonly=on"
		}
		args = append(args, "-fsdev", fsdev, "-device", fmt.Sprintf("virtio-9p-pci,fsdev=fs%d,mount_tag=%s", i, s.tag))
		shareTags = append(shareTags, s.tag)
	}
	if o.disk != "" {
		args = append(args, "-drive", "file="+o.disk+",format=raw,if=none,id=disk0", "-device", "virtio-blk-pci,drive=disk0")
	}
	if o.ports {
		args = append(args, "-device", "virtio-serial-pci",
			"-chardev", "qemu-vdagent,id=vdagent,clipboard=on",
			"-device", "virtserialport,chardev=vdagent,name=com.redhat.spice.0")
	}
	if o.screen {
		args = append(args, "-device", "virtio-vga")
	}
	return append(args, "-append", Cmdline(shareTags, o.actions))
}

func boot(t *testing.T, g Guest, o bootOptions) *runningGuest {
	t.Helper()
	// A short directory: the QMP socket path must fit in sun_path.
	dir, err := os.MkdirTemp("", "vivarium-guest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	qemu, _ := QEMUAvailable()
	cmd := exec.Command(qemu, qemuArgs(g, dir, o)...)
	r := &runningGuest{
		console: filepath.Join(dir, "console.log"),
		qmp:     filepath.Join(dir, "qmp.sock"),
		exited:  make(chan struct{}),
		stderr:  new(bytes.Buffer),
	}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", qemu, err)
	}
	go func() {
		r.err = cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			cmd.Process.Kill()
			<-r.exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(r.console)
			t.Logf("guest console:\n%s\nqemu stderr:\n%s", b, r.stderr)
		}
	})
	return r
}

// waitFor waits for marker on the console, giving up early if QEMU exits.
func (r *runningGuest) waitFor(t *testing.T, marker string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), bootTimeout)
	defer cancel()
	go func() {
		select {
		case <-r.exited:
			time.Sleep(100 * time.Millisecond) // let the last console bytes land
			cancel()
		case <-ctx.Done():
		}
	}()
	text, err := WaitForMarker(ctx, r.console, marker)
	if err != nil {
		t.Fatalf("%v\nqemu stderr: %s", err, r.stderr)
	}
	return text
}

// waitExit waits for QEMU to exit by itself, as it does when the guest
// powers off.
func (r *runningGuest) waitExit(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-r.exited:
		if r.err != nil {
			t.Fatalf("qemu exited with %v: %s", r.err, r.stderr)
		}
	case <-time.After(timeout):
		t.Fatalf("qemu still running %s after the guest was told to power off", timeout)
	}
}

func TestGuestBootsToReady(t *testing.T) {
	g := Require(t)
	start := time.Now()
	r := boot(t, g, bootOptions{})
	r.waitFor(t, ReadyMarker)
	t.Logf("%s after %.2f s", ReadyMarker, time.Since(start).Seconds())
	console := r.waitFor(t, IdleMarker)
	// A clean boot: a newcomer watching the console sees no kernel splat
	// and no module that failed to load.
	for _, bad := range []string{"Call Trace", "WARNING:", "vivarium: insmod", "vivarium: mount"} {
		if strings.Contains(console, bad) {
			t.Errorf("console shows %q:\n%s", bad, console)
		}
	}
}

func TestGuestWritesToShares(t *testing.T) {
	g := Require(t)
	tests := []struct {
		name     string
		readOnly bool
		wantOK   bool
	}{
		{name: "writable share", wantOK: true},
		{name: "read-only share refuses", readOnly: true},
	}
	var shares []share
	var actions []string
	for i, tt := range tests {
		s := share{tag: fmt.Sprintf("share%d", i), dir: t.TempDir(), readOnly: tt.readOnly}
		shares = append(shares, s)
		actions = append(actions, ShareWrite(s.tag))
	}
	r := boot(t, g, bootOptions{shares: shares, actions: actions})
	results := ParseResults(r.waitFor(t, IdleMarker))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, ok := FindResult(results, actions[i])
			if !ok {
				t.Fatalf("no result for %s in %+v", actions[i], results)
			}
			if res.OK != tt.wantOK {
				t.Errorf("%s: ok = %v (%s), want %v", actions[i], res.OK, res.Detail, tt.wantOK)
			}
			b, err := os.ReadFile(filepath.Join(shares[i].dir, ShareFileName))
			switch {
			case tt.wantOK && err != nil:
				t.Errorf("the guest's file is not on the host: %v", err)
			case tt.wantOK && string(b) != ShareFileContent:
				t.Errorf("host sees %q, want %q", b, ShareFileContent)
			case !tt.wantOK && !errors.Is(err, os.ErrNotExist):
				t.Errorf("read-only share: host has %s (%v), want no file", ShareFileName, err)
			}
		})
	}
}

func TestGuestDiskWritePersistsToNextBoot(t *testing.T) {
	g := Require(t)
	disk := filepath.Join(t.TempDir(), "disk-0.img")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	const text = "vivarium-was-here"

	first := boot(t, g, bootOptions{disk: disk, actions: []string{DiskWrite(text), ActionPoweroff}})
	console := first.waitFor(t, ResultMarker+" "+ActionPoweroff)
	if res, ok := FindResult(ParseResults(console), DiskWrite(text)); !ok || !res.OK {
		t.Fatalf("disk-write: %+v (found %v)", res, ok)
	}
	first.waitExit(t, bootTimeout)
	b, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(text+"\n")) {
		t.Fatalf("disk image starts with %q, want %q", b[:32], text+"\n")
	}

	second := boot(t, g, bootOptions{disk: disk, actions: []string{ActionDiskRead}})
	res, ok := FindResult(ParseResults(second.waitFor(t, IdleMarker)), ActionDiskRead)
	if !ok || !res.OK || res.Detail != text {
		t.Errorf("second boot disk-read = %+v (found %v), want detail %q", res, ok, text)
	}
}

func TestGuestSeesClipboardPort(t *testing.T) {
	g := Require(t)
	r := boot(t, g, bootOptions{ports: true, actions: []string{ActionPorts}})
	res, ok := FindResult(ParseResults(r.waitFor(t, IdleMarker)), ActionPorts)
	if !ok || !res.OK || !contains(strings.Split(res.Detail, ","), "com.redhat.spice.0") {
		t.Errorf("ports = %+v (found %v), want com.redhat.spice.0 among them", res, ok)
	}
}

func TestPowerButtonPowersGuestOff(t *testing.T) {
	g := Require(t)
	r := boot(t, g, bootOptions{})
	r.waitFor(t, IdleMarker)
	q := dialQMP(t, r.qmp)
	if _, err := q.execute("system_powerdown", nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r.waitExit(t, 30*time.Second)
	t.Logf("QEMU exited %.2f s after system_powerdown", time.Since(start).Seconds())
}

func TestGuestConsoleOnScreen(t *testing.T) {
	g := Require(t)
	r := boot(t, g, bootOptions{screen: true})
	r.waitFor(t, IdleMarker)
	q := dialQMP(t, r.qmp)
	shot := filepath.Join(t.TempDir(), "screen.png")
	// The framebuffer console draws from a worker: give it a moment.
	deadline := time.Now().Add(10 * time.Second)
	var colors int
	var bounds image.Rectangle
	for time.Now().Before(deadline) {
		if _, err := q.execute("screendump", map[string]string{"filename": shot, "format": "png"}); err != nil {
			t.Fatal(err)
		}
		img, err := decodePNG(shot)
		if err != nil {
			t.Fatal(err)
		}
		bounds = img.Bounds()
		if colors = countColors(img, 3); colors > 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if colors < 2 {
		t.Errorf("screendump is one flat colour (%v): the console is not on the screen", bounds)
	}
	if bounds.Dx() < 640 || bounds.Dy() < 400 {
		t.Errorf("screen is %v, want at least 640x400", bounds)
	}
}

func decodePNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("screendump: %w", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("screendump %s: %w", path, err)
	}
	return img, nil
}

// countColors counts distinct colours, stopping at limit.
func countColors(img image.Image, limit int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// qmpConn speaks raw QMP JSON: enough for a test; the product uses go-qemu.
type qmpConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialQMP(t *testing.T, path string) *qmpConn {
	t.Helper()
	conn, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		t.Fatalf("QMP %s: %v", path, err)
	}
	t.Cleanup(func() { conn.Close() })
	q := &qmpConn{conn: conn, r: bufio.NewReader(conn)}
	if _, err := q.read(); err != nil { // the greeting
		t.Fatalf("QMP greeting: %v", err)
	}
	if _, err := q.execute("qmp_capabilities", nil); err != nil {
		t.Fatal(err)
	}
	return q
}

type qmpMessage struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string `json:"event"`
}

func (q *qmpConn) read() (qmpMessage, error) {
	q.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := q.r.ReadBytes('\n')
	if err != nil {
		return qmpMessage{}, err
	}
	var m qmpMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return qmpMessage{}, fmt.Errorf("QMP message %q: %w", line, err)
	}
	return m, nil
}

// execute runs a command and returns its "return", skipping events.
func (q *qmpConn) execute(command string, args any) (json.RawMessage, error) {
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("QMP %s: %w", command, err)
	}
	for {
		m, err := q.read()
		if err != nil {
			return nil, fmt.Errorf("QMP %s: %w", command, err)
		}
		switch {
		case m.Error != nil:
			return nil, fmt.Errorf("QMP %s: %s: %s", command, m.Error.Class, m.Error.Desc)
		case m.Event != "":
			continue
		default:
			return m.Return, nil
		}
	}
}
