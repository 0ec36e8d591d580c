package vcb_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/bulletproof-labs/wsvcb/vcb"
)

func TestCatalog(t *testing.T) {
	in := `# edited for vcbRestore -a
version= esx-3.5
display_name= "web 01 (copy)"
uuid=564d1234
datastore = LocalDS_0
folder= "/DC0/vm/restored"

empty= ""
`
	c, err := vcb.ParseCatalog(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"version": "esx-3.5", "display_name": "web 01 (copy)", "uuid": "564d1234", "datastore": "LocalDS_0", "folder": "/DC0/vm/restored", "empty": ""}
	for k, v := range want {
		if got := c.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := strings.Join(c.Keys(), ","); got != "version,display_name,uuid,datastore,folder,empty" {
		t.Errorf("keys %s", got)
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	const out = "version= esx-3.5\ndisplay_name= \"web 01 (copy)\"\nuuid= 564d1234\ndatastore= LocalDS_0\nfolder= /DC0/vm/restored\nempty= \"\"\n"
	if b.String() != out {
		t.Errorf("WriteTo:\n%s\nwant:\n%s", b.String(), out)
	}
	for _, bad := range []string{"novalue\n", "= x\n", "a b= c\n", "k= \"unterminated\n", "k= 1\nk= 2\n"} {
		if _, err := vcb.ParseCatalog(strings.NewReader(bad)); !errors.Is(err, vcb.ErrCatalog) {
			t.Errorf("ParseCatalog(%q) err = %v, want ErrCatalog", bad, err)
		}
	}
}

func FuzzParseCatalog(f *testing.F) {
	f.Add("version= vcb-go-1\ndisplay_name= \"a b\"\n")
	f.Add("# c\n\nk=v\n")
	f.Add("k= \"\\x00\\n\"\n")
	f.Add("=\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := vcb.ParseCatalog(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, vcb.ErrCatalog) {
				t.Fatalf("error %v is not ErrCatalog", err)
			}
			return
		}
		var b bytes.Buffer
		if _, err := c.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		c2, err := vcb.ParseCatalog(&b)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b.String(), err)
		}
		for _, k := range c.Keys() {
			if c.Get(k) != c2.Get(k) {
				t.Fatalf("key %q: %q became %q", k, c.Get(k), c2.Get(k))
			}
		}
	})
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add(`{"version":1,"vm":{"name":"a"},"files":[{"name":"x","kind":"disk","size":1,"sha256":"` + strings.Repeat("a", 64) + `","rawSize":1,"rawSha256":"` + strings.Repeat("b", 64) + `"}]}`)
	f.Add(`{"version":1,"files":[{"name":"../x"}]}`)
	f.Add(`{}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := vcb.DecodeManifest(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, vcb.ErrManifest) {
				t.Fatalf("error %v is not ErrManifest", err)
			}
			return
		}
		for _, f := range m.Files {
			if strings.ContainsAny(f.Name, "/\\") && f.Name != "" {
				if strings.Contains(f.Name, "/") {
					t.Fatalf("accepted a path %q", f.Name)
				}
			}
		}
		_, _ = m.VMConfig()
	})
}
