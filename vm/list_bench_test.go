package vm

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func BenchmarkList1000(b *testing.B) {
	lib, _ := OpenLibrary(filepath.Join(b.TempDir(), "vms"))
	for i := 0; i < 1000; i++ {
		c := NewConfig(fmt.Sprintf("vm-%04d", i), OSLinux)
		c.Disks = []Disk{{Size: GiB}}
		c.FillDefaults()
		if _, err := lib.Create(context.Background(), c, CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		infos, _ := lib.List(context.Background())
		if len(infos) != 1000 {
			b.Fatal(len(infos))
		}
	}
}
