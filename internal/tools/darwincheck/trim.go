package main

import (
	"go/ast"
	"go/constant"
	"go/token"
	"strconv"
)

// trimDependency drops from a dependency's syntax what checking its
// declarations does not need, so that it neither costs time nor stays in
// memory: function bodies (go/types would skip them anyway) and the contents
// of composite literals that initialise package-level variables.
func trimDependency(f *ast.File) {
	for _, decl := range f.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Body != nil {
			// Empty, not nil: init and generic functions must have one.
			fn.Body = &ast.BlockStmt{Lbrace: fn.Body.Lbrace, Rbrace: fn.Body.Rbrace}
		}
	}
	emptyCompositeLiterals(f)
}

// emptyCompositeLiterals turns T{...} into T{}, which has the same type, in
// the values of package-level variables. Some dependencies' tables (x/text's
// encodings, fonts bundled as bytes) were half the checking time.
func emptyCompositeLiterals(f *ast.File) {
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			for _, value := range spec.(*ast.ValueSpec).Values {
				if addr, ok := value.(*ast.UnaryExpr); ok && addr.Op == token.AND {
					value = addr.X
				}
				lit, ok := value.(*ast.CompositeLit)
				if !ok || lit.Type == nil {
					continue
				}
				if array, ok := lit.Type.(*ast.ArrayType); ok {
					if _, ok := array.Len.(*ast.Ellipsis); ok {
						// [...]T{a, b, c} becomes [3]T{}.
						n, ok := arrayLength(lit.Elts)
						if !ok {
							continue
						}
						lit.Type = &ast.ArrayType{
							Lbrack: array.Lbrack,
							Len:    &ast.BasicLit{ValuePos: array.Len.Pos(), Kind: token.INT, Value: strconv.FormatInt(n, 10)},
							Elt:    array.Elt,
						}
					}
				}
				lit.Elts = nil
			}
		}
	}
}

// arrayLength is the length of [...]T{elts}, when its keys are integer
// literals or arithmetic on them (x/text's tables are keyed "11908 - 11905");
// keys naming constants would need the package checked first.
func arrayLength(elts []ast.Expr) (int64, bool) {
	var index, length int64
	for _, e := range elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			n, ok := literalInt(kv.Key)
			if !ok {
				return 0, false
			}
			index = n
		}
		index++
		length = max(length, index)
	}
	return length, true
}

// literalInt evaluates an integer expression made only of literals.
func literalInt(e ast.Expr) (int64, bool) {
	v := literalValue(e)
	if v.Kind() != constant.Int {
		return 0, false
	}
	return constant.Int64Val(v)
}

func literalValue(e ast.Expr) constant.Value {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.INT {
			return constant.MakeFromLiteral(e.Value, e.Kind, 0)
		}
	case *ast.ParenExpr:
		return literalValue(e.X)
	case *ast.UnaryExpr:
		if e.Op == token.SUB || e.Op == token.ADD {
			return constant.UnaryOp(e.Op, literalValue(e.X), 0)
		}
	case *ast.BinaryExpr:
		x, y := literalValue(e.X), literalValue(e.Y)
		if x.Kind() != constant.Int || y.Kind() != constant.Int {
			break
		}
		switch e.Op {
		case token.ADD, token.SUB, token.MUL, token.OR, token.AND:
			return constant.BinaryOp(x, e.Op, y)
		case token.SHL:
			if s, ok := constant.Uint64Val(y); ok && s < 64 {
				return constant.Shift(x, e.Op, uint(s))
			}
		}
	}
	return constant.MakeUnknown()
}
