package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// docs are what the api package's source says that reflection cannot: the
// doc comments (the descriptions) and the declared types of fields (the
// vocabulary aliases, which reflection sees as string).
type docs struct {
	types  map[string]string // type → its doc comment
	fields map[string]string // "Type.Field" → its doc comment
	exprs  map[string]string // "Type.Field" → its declared type
}

func parseDocs(dir string) (*docs, error) {
	d := &docs{types: map[string]string{}, fields: map[string]string{}, exprs: map[string]string{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				d.types[ts.Name.Name] = doc.Text()
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, field := range st.Fields.List {
					for _, n := range field.Names {
						key := ts.Name.Name + "." + n.Name
						d.fields[key] = field.Doc.Text()
						d.exprs[key] = types.ExprString(field.Type)
					}
				}
			}
		}
	}
	if len(d.types) == 0 {
		return nil, fmt.Errorf("no types in %s", dir)
	}
	return d, nil
}

// firstParagraph is a doc comment's first paragraph on one line: the
// description; later paragraphs are for Go readers only.
func firstParagraph(doc string) string {
	para, _, _ := strings.Cut(strings.TrimSpace(doc), "\n\n")
	return strings.TrimSpace(strings.ReplaceAll(para, "\n", " "))
}

// typeDescription turns a type's doc comment ("Version is a version of a
// model.", "ModelUpdate renames a model.", "NamespaceUpdate: changes …")
// into its schema's description ("A version of a model.").
func typeDescription(name, doc string) string {
	s := firstParagraph(doc)
	if rest, ok := strings.CutPrefix(s, name); ok {
		s = strings.TrimPrefix(rest, ":")
		s = strings.TrimSpace(s)
		for _, verb := range []string{"is ", "are "} {
			s = strings.TrimPrefix(s, verb)
		}
	}
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}
