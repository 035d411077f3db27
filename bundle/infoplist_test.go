package bundle

import (
	"os"
	"testing"

	"howett.net/plist"
)

// Vivarium does not handle the open event Finder sends when a document is
// double-clicked, so Info.plist must not declare Name.vm folders as
// documents (Finder would show each VM as one file that opens Vivarium and
// does nothing): they stay folders a person and an open panel can browse.
func TestInfoPlistDeclaresNoVMDocumentItCannotOpen(t *testing.T) {
	data, err := os.ReadFile("../Info.plist")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Exported []struct {
			Identifier string         `plist:"UTTypeIdentifier"`
			ConformsTo []string       `plist:"UTTypeConformsTo"`
			Tags       map[string]any `plist:"UTTypeTagSpecification"`
		} `plist:"UTExportedTypeDeclarations"`
		Documents []map[string]any `plist:"CFBundleDocumentTypes"`
	}
	if _, err := plist.Unmarshal(data, &info); err != nil {
		t.Fatalf("Info.plist: %v", err)
	}
	for _, ut := range info.Exported {
		for _, c := range ut.ConformsTo {
			if c == "com.apple.package" {
				t.Errorf("Info.plist declares %s (%v) a package, but Vivarium handles no open event for it", ut.Identifier, ut.Tags)
			}
		}
	}
	if len(info.Documents) > 0 {
		t.Errorf("Info.plist declares document types %v, but Vivarium handles no open event", info.Documents)
	}
}
