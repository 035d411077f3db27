//go:build darwin

package vz

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"sync"

	"github.com/Code-Hex/vz/v3"

	"github.com/vivarium-vm/vivarium/vm"
)

// machine is a plan built into vz objects, with the host files it holds
// open for the VM's lifetime.
type machine struct {
	config  *vz.VirtualMachineConfiguration
	closers []io.Closer
	once    sync.Once
}

// close releases the files the VM held, once; call it when the VM stopped
// or could not be made.
func (m *machine) close() {
	m.once.Do(func() { closeAll(m.closers) })
}

// parts collects the vz objects of each kind as the pipeline makes them.
type parts struct {
	console io.Writer

	boot      vz.BootLoader
	platform  vz.PlatformConfiguration
	storage   []vz.StorageDeviceConfiguration
	network   []*vz.VirtioNetworkDeviceConfiguration
	graphics  []vz.GraphicsDeviceConfiguration
	keyboards []vz.KeyboardConfiguration
	pointers  []vz.PointingDeviceConfiguration
	audio     []vz.AudioDeviceConfiguration
	entropy   []*vz.VirtioEntropyDeviceConfiguration
	balloons  []vz.MemoryBalloonDeviceConfiguration
	shares    []vz.DirectorySharingDeviceConfiguration
	consoles  []vz.ConsoleDeviceConfiguration
	serials   []*vz.VirtioConsoleDeviceSerialPortConfiguration
	bridged   bool
	closers   []io.Closer
}

// build turns a plan into a validated vz configuration. console receives
// the serial console when the plan has one.
func build(p *MachinePlan, console io.Writer) (*machine, error) {
	ps := &parts{console: console}
	fail := func(err error) (*machine, error) {
		(&machine{closers: ps.closers}).close()
		return nil, err
	}
	for _, d := range p.Devices {
		if err := ps.add(d); err != nil {
			return fail(fmt.Errorf("setting up the VM's %s: %w", d.Stage(), err))
		}
	}
	if ps.boot == nil {
		return fail(errors.New("setting up the VM: the plan has no boot loader"))
	}
	config, err := vz.NewVirtualMachineConfiguration(ps.boot, p.CPUs, p.Memory)
	if err != nil {
		return fail(fmt.Errorf("setting up the VM: %w", framework(err)))
	}
	if ps.platform != nil {
		config.SetPlatformVirtualMachineConfiguration(ps.platform)
	}
	config.SetStorageDevicesVirtualMachineConfiguration(ps.storage)
	config.SetNetworkDevicesVirtualMachineConfiguration(ps.network)
	config.SetGraphicsDevicesVirtualMachineConfiguration(ps.graphics)
	config.SetKeyboardsVirtualMachineConfiguration(ps.keyboards)
	config.SetPointingDevicesVirtualMachineConfiguration(ps.pointers)
	config.SetAudioDevicesVirtualMachineConfiguration(ps.audio)
	config.SetEntropyDevicesVirtualMachineConfiguration(ps.entropy)
	config.SetMemoryBalloonDevicesVirtualMachineConfiguration(ps.balloons)
	config.SetDirectorySharingDevicesVirtualMachineConfiguration(ps.shares)
	config.SetConsoleDevicesVirtualMachineConfiguration(ps.consoles)
	config.SetSerialPortsVirtualMachineConfiguration(ps.serials)
	if _, err := config.Validate(); err != nil {
		err = fmt.Errorf("the VM's configuration was refused by Apple Virtualization: %w", framework(err))
		if ps.bridged {
			err = fmt.Errorf("%w (bridged networking needs the com.apple.vm.networking entitlement, which Apple grants on request; use NAT if this copy of Vivarium lacks it)", err)
		}
		return fail(err)
	}
	return &machine{config: config, closers: ps.closers}, nil
}

// add makes the vz objects of one planned device.
func (ps *parts) add(d Device) error {
	switch d := d.(type) {
	case GenericPlatform:
		platform, err := genericPlatform(d)
		ps.platform = platform
		return err
	case MacPlatform:
		platform, err := macPlatform(d)
		ps.platform = platform
		return err
	case EFIBoot:
		boot, err := efiBoot(d)
		ps.boot = boot
		return err
	case LinuxBoot:
		boot, err := linuxBoot(d)
		ps.boot = boot
		return err
	case MacOSBoot:
		boot, err := macOSBoot()
		ps.boot = boot
		return err
	case Disk:
		disk, err := storage(d)
		ps.storage = appendIf(ps.storage, disk, err)
		return err
	case Network:
		ps.bridged = ps.bridged || d.Mode == vm.NetBridged
		nic, err := network(d)
		ps.network = appendIf(ps.network, nic, err)
		return err
	case VirtioGPU:
		gpu, err := virtioGPU(d)
		ps.graphics = appendIf(ps.graphics, gpu, err)
		return err
	case MacDisplay:
		gpu, err := macDisplay(d)
		ps.graphics = appendIf(ps.graphics, gpu, err)
		return err
	case Keyboard:
		kbd, err := keyboard(d)
		ps.keyboards = appendIf(ps.keyboards, kbd, err)
		return err
	case Pointer:
		ptr, err := pointer(d)
		ps.pointers = appendIf(ps.pointers, ptr, err)
		return err
	case Audio:
		snd, err := audio()
		ps.audio = appendIf(ps.audio, snd, err)
		return err
	case Entropy:
		rng, err := vz.NewVirtioEntropyDeviceConfiguration()
		ps.entropy = appendIf(ps.entropy, rng, err)
		return framework(err)
	case MemoryBalloon:
		balloon, err := vz.NewVirtioTraditionalMemoryBalloonDeviceConfiguration()
		ps.balloons = appendIf[vz.MemoryBalloonDeviceConfiguration](ps.balloons, balloon, err)
		return framework(err)
	case Share:
		share, err := directoryShare(d)
		ps.shares = appendIf(ps.shares, share, err)
		return err
	case Clipboard:
		port, err := spiceAgent()
		ps.consoles = appendIf(ps.consoles, port, err)
		return err
	case Rosetta:
		share, err := rosetta(d)
		ps.shares = appendIf(ps.shares, share, err)
		return err
	case SerialConsole:
		if ps.console == nil {
			return errors.New("the plan has a serial console but the run has no console writer")
		}
		serial, closers, err := serialConsole(ps.console)
		ps.closers = append(ps.closers, closers...)
		ps.serials = appendIf(ps.serials, serial, err)
		return err
	default:
		return fmt.Errorf("no vz device for a planned %T; this is a bug in Vivarium", d)
	}
}

// appendIf appends v when it was made without error.
func appendIf[T any](list []T, v T, err error) []T {
	if err != nil {
		return list
	}
	return append(list, v)
}

// genericPlatform is the platform of Linux guests, with the machine
// identifier kept in the VM so the guest sees the same machine every boot.
func genericPlatform(d GenericPlatform) (vz.PlatformConfiguration, error) {
	id, err := persistedIdentifier(d.MachineIDPath, vz.NewGenericMachineIdentifierWithData, vz.NewGenericMachineIdentifier)
	if err != nil {
		return nil, err
	}
	platform, err := vz.NewGenericPlatformConfiguration(vz.WithGenericMachineIdentifier(id))
	return platform, framework(err)
}

// identifier is a machine identifier vz can serialise.
type identifier interface{ DataRepresentation() []byte }

// persistedIdentifier reads the machine identifier at path, or makes a new
// one and saves it there when the file does not exist yet.
func persistedIdentifier[T identifier](path string, load func([]byte) (T, error), create func() (T, error)) (T, error) {
	var zero T
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		id, err := create()
		if err != nil {
			return zero, fmt.Errorf("making a machine identifier: %w", framework(err))
		}
		if err := vm.WriteFileAtomic(path, id.DataRepresentation(), 0o644); err != nil {
			return zero, fmt.Errorf("saving the machine identifier: %w", err)
		}
		return id, nil
	case err != nil:
		return zero, fmt.Errorf("reading the machine identifier: %w", err)
	case len(data) == 0:
		return zero, fmt.Errorf("%s is empty: delete it and the VM gets a new machine identifier", path)
	}
	id, err := load(data)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, framework(err))
	}
	if len(id.DataRepresentation()) == 0 {
		return zero, fmt.Errorf("%s is not a machine identifier Apple Virtualization can read: delete it and the VM gets a new one", path)
	}
	return id, nil
}

// efiBoot is the EFI boot loader with its variable store, created on the
// first boot.
func efiBoot(d EFIBoot) (vz.BootLoader, error) {
	var opts []vz.NewEFIVariableStoreOption
	if _, err := os.Stat(d.VariableStorePath); errors.Is(err, fs.ErrNotExist) {
		opts = append(opts, vz.WithCreatingEFIVariableStore())
	}
	store, err := vz.NewEFIVariableStore(d.VariableStorePath, opts...)
	if err != nil {
		return nil, fmt.Errorf("the EFI variable store %s: %w", d.VariableStorePath, framework(err))
	}
	boot, err := vz.NewEFIBootLoader(vz.WithEFIVariableStore(store))
	return boot, framework(err)
}

func linuxBoot(d LinuxBoot) (vz.BootLoader, error) {
	var opts []vz.LinuxBootLoaderOption
	if d.Cmdline != "" {
		opts = append(opts, vz.WithCommandLine(d.Cmdline))
	}
	if d.Initrd != "" {
		opts = append(opts, vz.WithInitrd(d.Initrd))
	}
	boot, err := vz.NewLinuxBootLoader(d.Kernel, opts...)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", d.Kernel, framework(err))
	}
	return boot, nil
}

func storage(d Disk) (vz.StorageDeviceConfiguration, error) {
	attachment, err := vz.NewDiskImageStorageDeviceAttachmentWithCacheAndSync(d.Path, d.ReadOnly, cachingMode(d.Cache), syncMode(d.Sync))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Path, framework(err))
	}
	if d.Bus == BusUSB {
		usb, err := vz.NewUSBMassStorageDeviceConfiguration(attachment)
		return usb, framework(err)
	}
	block, err := vz.NewVirtioBlockDeviceConfiguration(attachment)
	return block, framework(err)
}

func cachingMode(c CacheMode) vz.DiskImageCachingMode {
	if c == CacheCached {
		return vz.DiskImageCachingModeCached
	}
	return vz.DiskImageCachingModeAutomatic
}

func syncMode(s SyncMode) vz.DiskImageSynchronizationMode {
	switch s {
	case SyncFsync:
		return vz.DiskImageSynchronizationModeFsync
	case SyncNone:
		return vz.DiskImageSynchronizationModeNone
	}
	return vz.DiskImageSynchronizationModeFull
}

func network(d Network) (*vz.VirtioNetworkDeviceConfiguration, error) {
	var attachment vz.NetworkDeviceAttachment
	switch d.Mode {
	case vm.NetBridged:
		iface, err := bridgeInterface(d.Interface)
		if err != nil {
			return nil, err
		}
		bridged, err := vz.NewBridgedNetworkDeviceAttachment(iface)
		if err != nil {
			return nil, framework(err)
		}
		attachment = bridged
	default:
		nat, err := vz.NewNATNetworkDeviceAttachment()
		if err != nil {
			return nil, framework(err)
		}
		attachment = nat
	}
	nic, err := vz.NewVirtioNetworkDeviceConfiguration(attachment)
	if err != nil {
		return nil, framework(err)
	}
	hw, err := net.ParseMAC(d.MAC)
	if err != nil {
		return nil, fmt.Errorf("network.mac %q: %w", d.MAC, err)
	}
	mac, err := vz.NewMACAddress(hw)
	if err != nil {
		return nil, framework(err)
	}
	nic.SetMACAddress(mac)
	return nic, nil
}

// bridgeInterface finds the host interface named in the config among those
// Apple Virtualization can bridge, or says which ones it can.
func bridgeInterface(name string) (vz.BridgedNetwork, error) {
	var offered []string
	for _, iface := range vz.NetworkInterfaces() {
		if iface.Identifier() == name {
			return iface, nil
		}
		offered = append(offered, fmt.Sprintf("%s (%s)", iface.Identifier(), iface.LocalizedDisplayName()))
	}
	return nil, noBridgeError(name, offered)
}

func virtioGPU(d VirtioGPU) (vz.GraphicsDeviceConfiguration, error) {
	gpu, err := vz.NewVirtioGraphicsDeviceConfiguration()
	if err != nil {
		return nil, framework(err)
	}
	scanout, err := vz.NewVirtioGraphicsScanoutConfiguration(int64(d.Width), int64(d.Height))
	if err != nil {
		return nil, framework(err)
	}
	gpu.SetScanouts(scanout)
	return gpu, nil
}

func keyboard(d Keyboard) (vz.KeyboardConfiguration, error) {
	if d.Kind == KeyboardMac {
		return macKeyboard()
	}
	kbd, err := vz.NewUSBKeyboardConfiguration()
	return kbd, framework(err)
}

func pointer(d Pointer) (vz.PointingDeviceConfiguration, error) {
	if d.Kind == PointerTrackpad {
		return macTrackpad()
	}
	ptr, err := vz.NewUSBScreenCoordinatePointingDeviceConfiguration()
	return ptr, framework(err)
}

// audio is a sound device with output only: input would need the
// microphone entitlement and the user's permission.
func audio() (vz.AudioDeviceConfiguration, error) {
	snd, err := vz.NewVirtioSoundDeviceConfiguration()
	if err != nil {
		return nil, framework(err)
	}
	out, err := vz.NewVirtioSoundDeviceHostOutputStreamConfiguration()
	if err != nil {
		return nil, framework(err)
	}
	snd.SetStreams(out)
	return snd, nil
}

// directoryShare is one virtiofs device: a single folder under its tag, or
// every automount folder under Apple's macOS automount tag.
func directoryShare(d Share) (vz.DirectorySharingDeviceConfiguration, error) {
	tag := d.Tag
	if d.Automount {
		var err error
		if tag, err = vz.MacOSGuestAutomountTag(); err != nil {
			return nil, framework(err)
		}
	}
	device, err := vz.NewVirtioFileSystemDeviceConfiguration(tag)
	if err != nil {
		return nil, fmt.Errorf("tag %q: %w", tag, framework(err))
	}
	dirs := make(map[string]*vz.SharedDirectory, len(d.Dirs))
	for _, dir := range d.Dirs {
		shared, err := vz.NewSharedDirectory(dir.Path, dir.ReadOnly)
		if err != nil {
			return nil, fmt.Errorf("shared folder %s: %w", dir.Path, framework(err))
		}
		dirs[dir.Name] = shared
	}
	if d.Automount {
		share, err := vz.NewMultipleDirectoryShare(dirs)
		if err != nil {
			return nil, framework(err)
		}
		device.SetDirectoryShare(share)
		return device, nil
	}
	if len(d.Dirs) != 1 {
		return nil, fmt.Errorf("tag %q: a tagged share holds one folder, not %d", tag, len(d.Dirs))
	}
	share, err := vz.NewSingleDirectoryShare(dirs[d.Dirs[0].Name])
	if err != nil {
		return nil, framework(err)
	}
	device.SetDirectoryShare(share)
	return device, nil
}

// spiceAgent is the console port the guest's spice-vdagent talks to, with
// clipboard sharing on.
func spiceAgent() (vz.ConsoleDeviceConfiguration, error) {
	device, err := vz.NewVirtioConsoleDeviceConfiguration()
	if err != nil {
		return nil, framework(err)
	}
	name, err := vz.SpiceAgentPortAttachmentName()
	if err != nil {
		return nil, framework(err)
	}
	agent, err := vz.NewSpiceAgentPortAttachment()
	if err != nil {
		return nil, framework(err)
	}
	agent.SetSharesClipboard(true)
	port, err := vz.NewVirtioConsolePortConfiguration(
		vz.WithVirtioConsolePortConfigurationName(name),
		vz.WithVirtioConsolePortConfigurationAttachment(agent),
	)
	if err != nil {
		return nil, framework(err)
	}
	device.SetVirtioConsolePortConfiguration(0, port)
	return device, nil
}

// serialConsole sends what the guest writes to hvc0 to console, through a
// pipe, so any writer works. The files returned must stay open while the VM
// runs: the framework holds their descriptors, not the *os.File.
func serialConsole(console io.Writer) (*vz.VirtioConsoleDeviceSerialPortConfiguration, []io.Closer, error) {
	input, err := os.Open(os.DevNull)
	if err != nil {
		return nil, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		input.Close()
		return nil, nil, err
	}
	closers := []io.Closer{input, w}
	attachment, err := vz.NewFileHandleSerialPortAttachment(input, w)
	if err != nil {
		closeAll(closers)
		r.Close()
		return nil, nil, framework(err)
	}
	serial, err := vz.NewVirtioConsoleDeviceSerialPortConfiguration(attachment)
	if err != nil {
		closeAll(closers)
		r.Close()
		return nil, nil, framework(err)
	}
	go func() {
		io.Copy(console, r) // ends when w is closed after the VM stopped
		r.Close()
	}()
	return serial, closers, nil
}

func closeAll(cs []io.Closer) {
	for _, c := range cs {
		c.Close()
	}
}

// frameworkError shows an NSError by its localized description and keeps
// the whole error (domain, code, user info) for errors.As and the log.
type frameworkError struct {
	msg string
	err error
}

func (e *frameworkError) Error() string { return e.msg }
func (e *frameworkError) Unwrap() error { return e.err }

// framework makes an error from vz readable: its NSError's description
// rather than the whole dump, and a sentence for vz's "needs a newer macOS".
func framework(err error) error {
	if err == nil {
		return nil
	}
	var ns *vz.NSError
	if errors.As(err, &ns) {
		msg := ns.LocalizedDescription
		if msg == "" {
			msg = fmt.Sprintf("%s error %d", ns.Domain, ns.Code)
		}
		return &frameworkError{msg: msg, err: err}
	}
	if errors.Is(err, vz.ErrUnsupportedOSVersion) {
		return fmt.Errorf("%w: this needs a newer macOS than this Mac has (%w); update macOS", vm.ErrUnsupported, err)
	}
	if errors.Is(err, vz.ErrBuildTargetOSVersion) {
		return sdkTooOldError(err)
	}
	return err
}
