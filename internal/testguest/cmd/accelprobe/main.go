// Command accelprobe decides which accelerator really boots the test guest
// on this machine (a short KVM probe boot, else TCG), says which and why on
// stderr, and prints the accelerator alone on stdout, for make test to
// export as VIVARIUM_QEMU_ACCEL.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vivarium-vm/vivarium/internal/testguest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, reason := testguest.QEMUAvailable(); reason != "" {
		fmt.Fprintln(os.Stderr, "accelprobe: "+reason)
		os.Exit(1)
	}
	g, err := testguest.Ensure(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "accelprobe:", err)
		os.Exit(1)
	}
	c, err := testguest.Accel(ctx, g)
	if err != nil {
		fmt.Fprintln(os.Stderr, "accelprobe:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "Real-guest tests use accel=%s: %s\n", c.Accel, c.Why)
	fmt.Println(c.Accel)
}
