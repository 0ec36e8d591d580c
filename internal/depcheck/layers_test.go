package depcheck

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/bulletproof-labs/wsvcb"

// isPublic reports whether an import path is one of this module's public
// packages (not under any internal/ and not a command under examples/).
func isPublic(path string) bool {
	if path != module && !strings.HasPrefix(path, module+"/") {
		return false
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
	for _, elem := range strings.Split(rel, "/") {
		if elem == "internal" {
			return false
		}
	}
	return !strings.HasPrefix(rel, "examples/") && rel != "examples"
}

type listedPkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// TestInternalSitsBelowPublicPackages enforces the layering: a package in
// the module's top-level internal/ holds only what the public packages
// share, below them, so nothing there imports a public package (tcpwin,
// sysctl, vcb, ...), not even from its tests. Helpers that need the public
// packages (CLI glue, the seed lab, the demo) live under examples/internal.
func TestInternalSitsBelowPublicPackages(t *testing.T) {
	goTool := testenv.RequireTool(t, "go")
	cmd := exec.Command(goTool, "list", "-json=ImportPath,Imports,TestImports,XTestImports", "./internal/...")
	cmd.Dir = testenv.ModuleRoot(t)
	out, err := cmd.Output()
	require.NoError(t, err, "go list ./internal/...")
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for {
		var p listedPkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else {
			require.NoError(t, err)
		}
		n++
		for _, imps := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			for _, imp := range imps {
				assert.False(t, isPublic(imp), "%s imports public package %s: move it under examples/internal or move the shared code below", p.ImportPath, imp)
			}
		}
	}
	assert.Greater(t, n, 3, "go list found the internal packages")
}

func TestIsPublic(t *testing.T) {
	for path, want := range map[string]bool{
		module + "/tcpwin":                   true,
		module + "/tcpwin/live":              true,
		module + "/vcb/vcbtest":              true,
		module + "/sysctl/sysctltest":        true,
		module + "/internal/netlab":          false,
		module + "/examples/internal/vcbcli": false,
		module + "/examples/sysctl":          false,
		"github.com/vmware/govmomi":          false,
		"github.com/bulletproof-labs/other":  false,
	} {
		assert.Equal(t, want, isPublic(path), path)
	}
}

// TestGodocExamplesImportOnlyPublicPackages keeps the godoc examples of the
// public packages copyable: a _test.go file that defines an Example function
// imports no internal/ package of the module (use vcb/vcbtest and
// sysctl/sysctltest for test doubles).
func TestGodocExamplesImportOnlyPublicPackages(t *testing.T) {
	root := testenv.ModuleRoot(t)
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "internal" || rel == "examples" || rel == "testdata" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		full, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		hasExample := false
		for _, decl := range full.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Example") {
				hasExample = true
			}
		}
		if !hasExample {
			return nil
		}
		n++
		for _, imp := range full.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, module+"/") && !isPublic(p) {
				t.Errorf("%s: godoc example file imports %s (not public: users cannot copy it)", rel, p)
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, n, 3, "found the example files")
}
