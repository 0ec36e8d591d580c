package chunkstore

import (
	"bytes"
	"testing"
)

func FuzzParseRecipe(f *testing.F) {
	z := SumOf(nil).String()
	f.Add([]byte("vcb-recipe 1\nsize 5000\nchunk-size 4096\nchange-id 52 1a/3\n" + z + "\n" + z + "\nend\n"))
	f.Add([]byte("vcb-recipe 1\nsize 0\nchunk-size 1048576\nend\n"))
	f.Add([]byte("vcb-recipe 1\nsize 70368744177664\nchunk-size 4096\n" + z + "\nend\n"))
	f.Add([]byte("vcb-recipe 1\nsize 1\nchunk-size 4096\n" + z))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRecipe(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever parses must re-encode and parse to the same recipe.
		txt, err := r.MarshalText()
		if err != nil {
			t.Fatalf("parsed recipe does not encode: %v", err)
		}
		r2, err := ParseRecipe(bytes.NewReader(txt))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if r2.Size != r.Size || r2.ChunkSize != r.ChunkSize || r2.ChangeID != r.ChangeID || len(r2.Chunks) != len(r.Chunks) {
			t.Fatalf("round trip changed the recipe: %+v vs %+v", r, r2)
		}
	})
}
