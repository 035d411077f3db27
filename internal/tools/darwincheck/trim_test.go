package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"testing"
)

// TestEmptyCompositeLiteralsKeepsTypes checks that dropping a dependency's
// table contents never changes a type our code could see: a changed type
// would be a false error (or a missed one) in the main module.
func TestEmptyCompositeLiteralsKeepsTypes(t *testing.T) {
	tests := []struct {
		name        string
		src         string // declarations of package p, with a var V
		wantEmptied bool   // V's elements are dropped
	}{
		{name: "slice", src: `var V = []int{1, 2, 3}`, wantEmptied: true},
		{name: "map", src: `var V = map[string]int{"a": 1}`, wantEmptied: true},
		{name: "pointer to struct", src: `type T struct{ A []int }; var V = &T{A: []int{1}}`, wantEmptied: true},
		{name: "array of unkeyed elements", src: `var V = [...]byte{1, 2, 3}`, wantEmptied: true},
		{name: "array keyed by literal arithmetic", src: `var V = [...]uint16{11908 - 11905: 1, 7, 0x10: 2}`, wantEmptied: true},
		{name: "array keyed by shifts", src: `var V = [...]bool{1 << 3: true, (2 + 1) * 2: false}`, wantEmptied: true},
		{name: "array keyed by a constant stays", src: `const k = 4; var V = [...]string{k: "x"}`, wantEmptied: false},
		{name: "array with a length", src: `var V = [8]int{2: 1}`, wantEmptied: true},
		{name: "grouped declaration", src: `var (a = 1; V = [...]int{5: 0})`, wantEmptied: true},
		{name: "generic type", src: `type L[T any] []T; var V = L[string]{"a"}`, wantEmptied: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package p\n" + tt.src + "\n"
			whole := typeOfV(t, src, false)
			trimmed := typeOfV(t, src, true)
			if whole != trimmed {
				t.Errorf("V is %s after trimming, %s before", trimmed, whole)
			}
			f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
			if err != nil {
				t.Fatal(err)
			}
			emptyCompositeLiterals(f)
			if got := elementsOfV(f) == 0; got != tt.wantEmptied {
				t.Errorf("V emptied = %v, want %v", got, tt.wantEmptied)
			}
		})
	}
}

func typeOfV(t *testing.T, src string, trim bool) string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if trim {
		emptyCompositeLiterals(f)
	}
	pkg, err := (&types.Config{}).Check("p", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatalf("trimmed=%v: %v", trim, err)
	}
	return pkg.Scope().Lookup("V").Type().String()
}

// elementsOfV counts the elements of the composite literal V is set to.
func elementsOfV(f *ast.File) int {
	n := -1
	ast.Inspect(f, func(node ast.Node) bool {
		spec, ok := node.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if name.Name != "V" {
				continue
			}
			value := spec.Values[i]
			if addr, ok := value.(*ast.UnaryExpr); ok {
				value = addr.X
			}
			n = len(value.(*ast.CompositeLit).Elts)
		}
		return false
	})
	return n
}
